//! The lake's table definition for each engine, from the layout contract: the file columns
//! with their types, then the `provider` and `date` partitions (strings, `date` as
//! `YYYY-MM-DD`).

use crate::lake::layout::{DATE, FILE_COLUMNS, LakeType, PARTITION_COLUMNS};
use crate::schema::{PROVIDER, PROVIDERS};

use super::dialect::Engine;

/// Where the DDL points when no location is given.
pub const DEFAULT_LOCATION: &str = "s3://BUCKET/trailscope-lake";

/// The statements (`;`-terminated, in order) that register the lake at `location` as
/// `table` in `engine`, then make its partitions known.
pub fn ddl(engine: Engine, location: &str, table: &str) -> String {
    let location = location.trim_end_matches('/');
    match engine {
        Engine::DuckDb => duckdb(location, table),
        Engine::Spark => spark(location, table),
        Engine::Trino => trino(location, table),
        Engine::Athena => athena(location, table),
    }
}

/// Trino's Hive connector takes `timestamp` at the catalog's `hive.timestamp-precision`
/// (milliseconds unless set to MICROSECONDS).
fn type_name(engine: Engine, t: LakeType) -> &'static str {
    match (engine, t) {
        (_, LakeType::Timestamp) => "TIMESTAMP",
        (Engine::Spark | Engine::Athena, LakeType::Text) => "STRING",
        (_, LakeType::Text) => "VARCHAR",
        (_, LakeType::Boolean) => "BOOLEAN",
        (_, LakeType::Integer) => "BIGINT",
    }
}

/// Hive DDL (Athena) quotes identifiers with backticks, like Spark, and reads literals with
/// backslash escapes, like Spark.
fn hive_ident(name: &str) -> String {
    Engine::Spark.ident(name)
}

fn columns(engine: Engine, ident: impl Fn(&str) -> String, with_partitions: bool) -> String {
    let mut lines: Vec<String> = FILE_COLUMNS
        .iter()
        .map(|(name, t)| format!("  {} {}", ident(name), type_name(engine, *t)))
        .collect();
    if with_partitions {
        lines.extend(
            PARTITION_COLUMNS
                .iter()
                .map(|name| format!("  {} {}", ident(name), type_name(engine, LakeType::Text))),
        );
    }
    lines.join(",\n")
}

fn partition_list(ident: impl Fn(&str) -> String) -> String {
    PARTITION_COLUMNS
        .iter()
        .map(|c| ident(c))
        .collect::<Vec<_>>()
        .join(", ")
}

fn duckdb(location: &str, table: &str) -> String {
    let e = Engine::DuckDb;
    // Partition values stay strings, as in the other engines (DuckDB would read `date` as a
    // DATE); files being written start with '.', which the glob skips.
    format!(
        "CREATE OR REPLACE VIEW {} AS\nSELECT * FROM read_parquet({}, hive_partitioning = true, hive_types = {{'{PROVIDER}': VARCHAR, '{DATE}': VARCHAR}});\n",
        e.table(table),
        e.string(&format!("{location}/{PROVIDER}=*/{DATE}=*/[!._]*.parquet"))
    )
}

fn spark(location: &str, table: &str) -> String {
    let e = Engine::Spark;
    let ident = |c: &str| e.ident(c);
    format!(
        "CREATE TABLE IF NOT EXISTS {} (\n{}\n)\nUSING parquet\nPARTITIONED BY ({})\nLOCATION {};\nMSCK REPAIR TABLE {};\n",
        e.table(table),
        columns(e, ident, true),
        partition_list(ident),
        e.string(location),
        e.table(table)
    )
}

fn trino(location: &str, table: &str) -> String {
    let e = Engine::Trino;
    let ident = |c: &str| e.ident(c);
    let parts: Vec<&str> = table.split('.').collect();
    let (procedure, schema, name) = match parts.as_slice() {
        [catalog, schema, name] => (format!("{}.system", e.ident(catalog)), *schema, *name),
        [schema, name] => ("system".to_string(), *schema, *name),
        _ => ("system".to_string(), "default", table),
    };
    let partitioned = PARTITION_COLUMNS
        .iter()
        .map(|c| e.string(c))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "CREATE TABLE IF NOT EXISTS {} (\n{}\n)\nWITH (\n  format = 'PARQUET',\n  external_location = {},\n  partitioned_by = ARRAY[{partitioned}]\n);\nCALL {procedure}.sync_partition_metadata({}, {}, 'FULL');\n",
        e.table(table),
        columns(e, ident, true),
        e.string(location),
        e.string(schema),
        e.string(name)
    )
}

fn athena(location: &str, table: &str) -> String {
    let e = Engine::Athena;
    let literal = |s: &str| Engine::Spark.string(s);
    let table_name = table
        .split('.')
        .map(hive_ident)
        .collect::<Vec<_>>()
        .join(".");
    let partitions = PARTITION_COLUMNS
        .iter()
        .map(|c| format!("{} {}", hive_ident(c), type_name(e, LakeType::Text)))
        .collect::<Vec<_>>()
        .join(", ");
    let properties = [
        ("projection.enabled", "true".to_string()),
        ("projection.provider.type", "enum".to_string()),
        ("projection.provider.values", PROVIDERS.join(",")),
        ("projection.date.type", "date".to_string()),
        ("projection.date.format", "yyyy-MM-dd".to_string()),
        ("projection.date.range", "2000-01-01,NOW".to_string()),
        ("projection.date.interval", "1".to_string()),
        ("projection.date.interval.unit", "DAYS".to_string()),
        (
            "storage.location.template",
            format!("{location}/{PROVIDER}=${{{PROVIDER}}}/{DATE}=${{{DATE}}}/"),
        ),
    ];
    let properties = properties
        .iter()
        .map(|(k, v)| format!("  {} = {}", literal(k), literal(v)))
        .collect::<Vec<_>>()
        .join(",\n");
    format!(
        "CREATE EXTERNAL TABLE IF NOT EXISTS {table_name} (\n{}\n)\nPARTITIONED BY ({partitions})\nSTORED AS PARQUET\nLOCATION {}\nTBLPROPERTIES (\n{properties}\n);\n",
        columns(e, hive_ident, false),
        literal(&format!("{location}/"))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_engine_declares_every_column_and_the_partitions() {
        for engine in [Engine::Spark, Engine::Trino, Engine::Athena] {
            let sql = ddl(engine, "s3://b/lake/", "events");
            for (column, _) in FILE_COLUMNS {
                assert!(
                    sql.contains(&engine_ident(engine, column)),
                    "{engine:?} {column}"
                );
            }
            assert!(sql.contains("s3://b/lake"), "{sql}");
            assert!(!sql.contains("lake//"), "{sql}");
        }
        let athena = ddl(Engine::Athena, "s3://b/lake", "events");
        assert!(athena.contains(
            "'projection.provider.values' = 'aws,entra,azure,gcp,kubernetes,okta,github'"
        ));
        assert!(athena.contains("PARTITIONED BY (`provider` STRING, `date` STRING)"));
    }

    fn engine_ident(engine: Engine, column: &str) -> String {
        match engine {
            Engine::Athena => hive_ident(column),
            e => e.ident(column),
        }
    }
}
