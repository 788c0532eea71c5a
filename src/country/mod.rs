//! Countries as the `country` column holds them: ISO 3166-1 alpha-2 codes, read from whatever
//! a provider writes (a code, an alpha-3 code, an English, common or official name, or a
//! GeoIP database's spelling), and the bundled offline table that places public addresses
//! ([`geoip`]).

pub mod geoip;
mod table;

use std::collections::HashMap;
use std::sync::LazyLock;

pub use table::COUNTRIES;

/// Every spelling, lower-cased, to its alpha-2 code.
static BY_NAME: LazyLock<HashMap<String, &'static str>> = LazyLock::new(|| {
    let mut names = HashMap::new();
    for (alpha2, alpha3, spellings) in COUNTRIES.iter() {
        names.insert(alpha2.to_ascii_lowercase(), *alpha2);
        names.insert(alpha3.to_ascii_lowercase(), *alpha2);
        for name in spellings.iter() {
            names.insert(name.to_lowercase(), *alpha2);
        }
    }
    names
});

/// The alpha-2 code of a country written as a code or a name (`DE`, `deu`, `Germany`,
/// `Russia`, `Korea, Republic of`); None when it names no country.
pub fn country_code(text: &str) -> Option<&'static str> {
    let text = text.trim();
    if text.is_empty() || text.len() > 80 {
        return None;
    }
    BY_NAME.get(&text.to_lowercase()).copied()
}

/// The English name of a country by its alpha-2 code.
pub fn country_name(code: &str) -> Option<&'static str> {
    COUNTRIES
        .binary_search_by(|(alpha2, _, _)| alpha2.cmp(&code))
        .ok()
        .and_then(|i| COUNTRIES[i].2.first().copied())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_in_every_spelling_give_the_alpha2_code() {
        for (text, code) in [
            ("DE", "DE"),
            ("de", "DE"),
            ("DEU", "DE"),
            ("Germany", "DE"),
            (" united states ", "US"),
            ("Russia", "RU"),
            ("Russian Federation", "RU"),
            ("South Korea", "KR"),
            ("Korea, Republic of", "KR"),
            ("Türkiye", "TR"),
            ("Turkey", "TR"),
            ("Czech Republic", "CZ"),
            ("Kosovo", "XK"),
        ] {
            assert_eq!(country_code(text), Some(code), "{text}");
        }
        assert_eq!(country_code("North Europe"), None);
        assert_eq!(country_code(""), None);
        assert_eq!(country_name("FR"), Some("France"));
        assert_eq!(country_name("ZZ"), None);
    }

    #[test]
    fn the_table_is_sorted_for_lookup_by_code() {
        assert!(COUNTRIES.windows(2).all(|w| w[0].0 < w[1].0));
    }
}
