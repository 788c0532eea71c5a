//! The `country` column from the bundled offline lookup: a public `src_ip` gets the country
//! the registries place it in when the record names none; private addresses, documentation
//! addresses and AWS service names get none; a country the record gives is kept; and
//! `[enrich] country_lookup = false` turns the lookup off.

use serde_json::Value;

use crate::util::{fixture, run, stdout, trailscope};

/// `query --format json` of the fixtures as (actor, src_ip, country) triples, in time order.
fn countries(output: &std::process::Output) -> Vec<(String, String, Option<String>)> {
    assert!(output.status.success(), "{}", crate::util::stderr(output));
    let events: Vec<Value> = serde_json::from_str(&stdout(output)).expect("a JSON array");
    events
        .iter()
        .map(|e| {
            let text = |k: &str| e[k].as_str().unwrap_or("").to_string();
            (
                text("actor"),
                text("src_ip"),
                e["country"].as_str().map(String::from),
            )
        })
        .collect()
}

fn query_args(extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "query",
        "--format",
        "json",
        "--columns",
        "actor,src_ip,country",
    ]
    .map(String::from)
    .to_vec();
    for f in [
        "country/cloudtrail-addresses.json",
        "country/okta-own-and-looked-up.ndjson",
    ] {
        args.push(fixture(f).display().to_string());
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

#[test]
fn public_addresses_get_the_lookups_country_and_record_countries_are_kept() {
    let args = query_args(&[]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let got = countries(&run(&args));
    let expected = [
        (
            "arn:aws:iam::111122223333:user/alice",
            "81.2.69.142",
            Some("GB"),
        ),
        ("arn:aws:iam::111122223333:user/bob", "10.0.3.7", None),
        (
            "arn:aws:iam::111122223333:user/carol",
            "2001:4860:4860::8888",
            Some("US"),
        ),
        ("arn:aws:iam::111122223333:user/dave", "192.0.2.44", None),
        ("s3.amazonaws.com", "s3.amazonaws.com", None),
        // Okta says Germany; the address alone would be placed in the US.
        ("frank@example.com", "8.8.8.8", Some("DE")),
        ("gina@example.com", "193.0.6.139", Some("NL")),
    ];
    let expected: Vec<(String, String, Option<String>)> = expected
        .iter()
        .map(|(a, ip, c)| (a.to_string(), ip.to_string(), c.map(String::from)))
        .collect();
    assert_eq!(got, expected);
}

#[test]
fn the_lookup_can_be_turned_off_in_the_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "[enrich]\ncountry_lookup = false\n").unwrap();
    let args = query_args(&["--config", config.to_str().unwrap()]);
    let output = trailscope().args(&args).output().unwrap();
    let got = countries(&output);
    let with_country: Vec<(&str, Option<&str>)> = got
        .iter()
        .filter(|(_, _, c)| c.is_some())
        .map(|(a, _, c)| (a.as_str(), c.as_deref()))
        .collect();
    assert_eq!(
        with_country,
        [("frank@example.com", Some("DE"))],
        "only the record's own country is left"
    );
    // The filter language sees the looked-up values like any other.
    let args = query_args(&["--filter", "country:GB"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let got = countries(&run(&args));
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].1, "81.2.69.142");
}
