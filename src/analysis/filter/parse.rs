//! The filter parser: tokens to a [`FilterExpr`], with errors that say what was expected where.

use super::*;

/// Parses a filter. Blank input is [`FilterExpr::All`].
pub fn parse(input: &str) -> Result<FilterExpr, FilterError> {
    let chars: Vec<char> = input.chars().collect();
    let toks = lex(&chars)?;
    if toks.is_empty() {
        return Ok(FilterExpr::All);
    }
    let mut parser = Parser {
        toks,
        pos: 0,
        chars: &chars,
    };
    let expr = parser.or(0)?;
    match parser.next() {
        None => Ok(expr),
        Some(t) => Err(match t.tok {
            Tok::RParen => {
                FilterError::new("unbalanced parenthesis: ')' has no matching '('", t.span)
            }
            _ => FilterError::new("unexpected text", t.span),
        }),
    }
}

pub(super) struct Parser<'a> {
    pub(super) toks: Vec<Token>,
    pub(super) pos: usize,
    pub(super) chars: &'a [char],
}

impl Parser<'_> {
    pub(super) fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.tok)
    }

    pub(super) fn next(&mut self) -> Option<Token> {
        let t = self.toks.get(self.pos).cloned();
        if t.is_some() {
            self.pos += 1;
        }
        t
    }

    pub(super) fn source(&self, span: &Range<usize>) -> String {
        self.chars
            .get(span.clone())
            .unwrap_or_default()
            .iter()
            .collect()
    }

    pub(super) fn operand_missing(&self) -> bool {
        matches!(self.peek(), None | Some(Tok::Or | Tok::And | Tok::RParen))
    }

    pub(super) fn expected_after(&self, t: &Token) -> FilterError {
        FilterError::new(
            format!("expected a term after '{}'", self.source(&t.span)),
            t.span.clone(),
        )
    }

    pub(super) fn or(&mut self, depth: usize) -> Result<FilterExpr, FilterError> {
        let mut items = vec![self.and(depth)?];
        while let Some(Tok::Or) = self.peek() {
            let Some(t) = self.next() else { break };
            if self.operand_missing() {
                return Err(self.expected_after(&t));
            }
            items.push(self.and(depth)?);
        }
        Ok(if items.len() == 1 {
            items.pop().unwrap_or(FilterExpr::All)
        } else {
            FilterExpr::Or(items)
        })
    }

    pub(super) fn and(&mut self, depth: usize) -> Result<FilterExpr, FilterError> {
        let mut items = vec![self.unary(depth)?];
        loop {
            match self.peek() {
                None | Some(Tok::Or | Tok::RParen) => break,
                Some(Tok::And) => {
                    let Some(t) = self.next() else { break };
                    if self.operand_missing() {
                        return Err(self.expected_after(&t));
                    }
                }
                Some(_) => {}
            }
            items.push(self.unary(depth)?);
        }
        Ok(if items.len() == 1 {
            items.pop().unwrap_or(FilterExpr::All)
        } else {
            FilterExpr::And(items)
        })
    }

    pub(super) fn unary(&mut self, depth: usize) -> Result<FilterExpr, FilterError> {
        let end = self.chars.len();
        let Some(t) = self.next() else {
            return Err(FilterError::new("expected a term", end..end));
        };
        if depth > MAX_DEPTH {
            return Err(FilterError::new(
                format!("filter nested too deeply (at most {MAX_DEPTH} levels)"),
                t.span,
            ));
        }
        match t.tok {
            Tok::Not => {
                if self.operand_missing() {
                    return Err(self.expected_after(&t));
                }
                Ok(FilterExpr::Not(Box::new(self.unary(depth + 1)?)))
            }
            Tok::LParen => {
                match self.peek() {
                    Some(Tok::RParen) => {
                        let close = self.pos;
                        let end = self.toks.get(close).map_or(t.span.end, |r| r.span.end);
                        return Err(FilterError::new("empty parentheses", t.span.start..end));
                    }
                    None => return Err(unclosed(t.span)),
                    _ => {}
                }
                let inner = self.or(depth + 1)?;
                match self.next() {
                    Some(Token {
                        tok: Tok::RParen, ..
                    }) => Ok(inner),
                    _ => Err(unclosed(t.span)),
                }
            }
            Tok::RParen => Err(FilterError::new(
                "unbalanced parenthesis: ')' has no matching '('",
                t.span,
            )),
            Tok::Or | Tok::And => Err(FilterError::new(
                format!("expected a term before '{}'", self.source(&t.span)),
                t.span,
            )),
            Tok::In => Err(FilterError::new(
                "'in' needs a field before it and a list after it (actor in @oncall.txt, \
                 actor in (alice, bob)); quote \"in\" to search for the word",
                t.span,
            )),
            Tok::File(_) | Tok::Items(_) => Err(FilterError::new("unexpected list", t.span)),
            Tok::Field {
                name,
                name_span,
                op,
                value,
            } => field_term(&name, name_span, op, &value, t.span),
            Tok::Word(value) => {
                if !value.quoted && self.peek() == Some(&Tok::In) {
                    self.list_term(&value)
                } else {
                    word_term(&value)
                }
            }
        }
    }

    /// `FIELD in LIST`; the field word is consumed, `in` is next.
    pub(super) fn list_term(&mut self, word: &Value) -> Result<FilterExpr, FilterError> {
        let Some(in_tok) = self.next() else {
            return Err(FilterError::new("expected 'in'", word.span.clone()));
        };
        let (field, kind) =
            lookup(&word.raw).ok_or_else(|| unknown_field(&word.raw, word.span.clone()))?;
        let field = match kind {
            Kind::Category | Kind::Text => field,
            Kind::Ip => IP,
            _ => {
                return Err(FilterError::new(
                    format!(
                        "'{field}' cannot be matched against a list (lists work on text fields and ip)"
                    ),
                    word.span.clone(),
                ));
            }
        };
        let list_tok = match self.peek() {
            Some(Tok::File(_) | Tok::Items(_)) => self.next(),
            _ => None,
        };
        let Some(list_tok) = list_tok else {
            return Err(FilterError::new(
                "expected @FILE or (VALUES) after 'in'",
                in_tok.span,
            ));
        };
        let span = word.span.start..list_tok.span.end;
        let list = match list_tok.tok {
            Tok::File(path) => {
                let text = path.text();
                if text.is_empty() {
                    return Err(FilterError::new(
                        "expected a file name after '@'",
                        list_tok.span,
                    ));
                }
                ListSource::File(PathBuf::from(text))
            }
            Tok::Items(items) => {
                if items.is_empty() {
                    return Err(FilterError::new("empty list", list_tok.span));
                }
                let mut values = Vec::with_capacity(items.len());
                for item in &items {
                    let text = item.text();
                    if field == IP {
                        if Cidr::parse(&text).is_none() {
                            return Err(cidr_error(&text, item.span.clone()));
                        }
                        values.push(text);
                    } else {
                        values.push(canonical_pattern(&text));
                    }
                }
                ListSource::Values(values)
            }
            _ => return Err(FilterError::new("unexpected text", list_tok.span)),
        };
        Ok(FilterExpr::InList { field, list, span })
    }
}

pub(super) fn unclosed(span: Range<usize>) -> FilterError {
    FilterError::new("unbalanced parenthesis: '(' is never closed", span)
}

pub(super) fn field_term(
    name: &str,
    name_span: Range<usize>,
    op: char,
    value: &Value,
    span: Range<usize>,
) -> Result<FilterExpr, FilterError> {
    let (field, kind) = lookup(name).ok_or_else(|| unknown_field(name, name_span))?;
    if value.raw.is_empty() && !value.quoted {
        return Err(FilterError::new(
            format!("expected a value after '{name}{op}'"),
            span,
        ));
    }
    let text = value.text();
    let vspan = value.span.clone();
    if op == '~' {
        let hint = match kind {
            Kind::Category | Kind::Text => {
                validate_regex(&text).map_err(|m| FilterError::new(m, vspan))?;
                return Ok(FilterExpr::Field {
                    field,
                    op: MatchOp::Regex,
                    value: text,
                    span,
                });
            }
            Kind::Bool => format!("use {field}:true, {field}:false or {field}:unknown"),
            Kind::Ip => format!("use {IP}:CIDR, or {SRC_IP}~ for a regex"),
            _ => format!("use {field}:VALUE"),
        };
        return Err(FilterError::new(
            format!("'{name}' does not take a regex ({hint})"),
            span,
        ));
    }
    let time = |bound| -> Result<FilterExpr, FilterError> {
        if parse_time(&text).is_none() {
            return Err(FilterError::new(time_error(&text), vspan.clone()));
        }
        Ok(FilterExpr::Time {
            bound,
            value: text.clone(),
            span: span.clone(),
        })
    };
    match kind {
        Kind::Category if field == ACTOR_TYPE && text.eq_ignore_ascii_case(NON_HUMAN) => {
            // The detectors' word for workloads and the platform, as a filter value.
            let kinds = [ActorType::Service, ActorType::System].map(|k| FilterExpr::Field {
                field,
                op: MatchOp::Match,
                value: k.as_str().to_string(),
                span: span.clone(),
            });
            Ok(FilterExpr::Or(kinds.to_vec()))
        }
        Kind::Category | Kind::Text => {
            if let Some(values) = enum_values(field)
                && !text.contains('*')
                && !values.iter().any(|v| v.eq_ignore_ascii_case(&text))
            {
                return Err(FilterError::new(
                    format!(
                        "{field} is never '{}' (its values: {})",
                        escape_control(&text),
                        values.join(", ")
                    ),
                    vspan,
                ));
            }
            Ok(FilterExpr::Field {
                field,
                op: MatchOp::Match,
                value: canonical_pattern(&text),
                span,
            })
        }
        Kind::Bool => match parse_bool(&text) {
            Some(value) => Ok(FilterExpr::Bool { field, value, span }),
            None => Err(FilterError::new(
                format!(
                    "invalid value '{}' for {field} (use true, false or unknown)",
                    escape_control(&text)
                ),
                vspan,
            )),
        },
        Kind::Time => time(TimeBound::During),
        Kind::After => time(TimeBound::After),
        Kind::Before => time(TimeBound::Before),
        Kind::Last => {
            if parse_duration(&text).is_err() {
                return Err(FilterError::new(duration_error(&text), vspan));
            }
            Ok(FilterExpr::Time {
                bound: TimeBound::Last,
                value: text,
                span,
            })
        }
        Kind::Ip => {
            if Cidr::parse(&text).is_none() {
                return Err(cidr_error(&text, vspan));
            }
            Ok(FilterExpr::Cidr { cidr: text, span })
        }
    }
}

pub(super) fn word_term(value: &Value) -> Result<FilterExpr, FilterError> {
    let span = value.span.clone();
    if value.quoted {
        let text = value.text();
        if text.is_empty() {
            return Err(FilterError::new("empty search text", span));
        }
        return Ok(FilterExpr::Text {
            text: canonical_pattern(&text),
            span,
        });
    }
    if let Some((field, Kind::Bool)) = lookup(&value.raw) {
        return Ok(FilterExpr::Bool {
            field,
            value: Some(true),
            span,
        });
    }
    Ok(FilterExpr::Text {
        text: canonical_pattern(&value.raw),
        span,
    })
}

/// The filter value meaning a non-human identity (`actor_type:service or actor_type:system`).
pub(super) const NON_HUMAN: &str = "non-human";

/// The values an enumerated column can hold (with [`NON_HUMAN`] for `actor_type`), so a
/// value outside them is an error rather than a filter that silently matches nothing.
pub(super) fn enum_values(field: &str) -> Option<Vec<&'static str>> {
    use schema::Outcome;
    match field {
        ACTOR_TYPE => {
            let kinds = [
                ActorType::Human,
                ActorType::Service,
                ActorType::Root,
                ActorType::System,
                ActorType::Anonymous,
                ActorType::Unknown,
            ];
            let mut values: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
            values.push(NON_HUMAN);
            Some(values)
        }
        OUTCOME => Some(
            [Outcome::Success, Outcome::Failure, Outcome::Unknown]
                .iter()
                .map(|o| o.as_str())
                .collect(),
        ),
        _ => None,
    }
}

pub(super) fn parse_bool(text: &str) -> Option<Option<bool>> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" => Some(Some(true)),
        "false" | "no" | "0" => Some(Some(false)),
        "unknown" | "null" | "none" => Some(None),
        _ => None,
    }
}

/// The largest compiled regex a filter may use (the regex crate's own default is 10 MiB).
/// Polars compiles the pattern again for string columns, and its matching memory grows with
/// program size times capture groups: a pattern of 12,000 groups took 17 GB.
pub const MAX_REGEX_BYTES: usize = 1 << 20;

/// The most capture groups a filter regex may have; grouping with `(?:...)` is unlimited.
pub const MAX_REGEX_GROUPS: usize = 64;

pub(super) fn validate_regex(pattern: &str) -> Result<Regex, String> {
    validate_regex_sized(pattern, MAX_REGEX_BYTES)
}

/// [`validate_regex`] with another program size limit, for patterns trailscope builds itself
/// from a list and matches in Rust (never handed to Polars).
pub(super) fn validate_regex_sized(pattern: &str, size_limit: usize) -> Result<Regex, String> {
    let regex = regex::RegexBuilder::new(pattern)
        .size_limit(size_limit)
        .build()
        .map_err(|e| format!("invalid regex: {}", regex_message(&e)))?;
    // `captures_len` counts the implicit whole-match group too.
    let groups = regex.captures_len().saturating_sub(1);
    if groups > MAX_REGEX_GROUPS {
        return Err(format!(
            "invalid regex: {groups} capture groups, at most {MAX_REGEX_GROUPS} (group with (?:...) instead)"
        ));
    }
    Ok(regex)
}

pub(super) fn regex_message(e: &regex::Error) -> String {
    match e {
        regex::Error::Syntax(s) => s
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix("error: "))
            .or_else(|| s.lines().last())
            .unwrap_or("syntax error")
            .to_string(),
        regex::Error::CompiledTooBig(limit) => {
            format!(
                "pattern too large (compiles to more than {} KiB)",
                limit >> 10
            )
        }
        other => other.to_string(),
    }
}
