//! Places as the rules read them: countries by ISO code or English name, their approximate
//! centroids (impossible travel) and their IANA zones (working hours inferred from where
//! people sign in). Built-in tables: no GeoIP database needed.

/// The country part of a location (`Lyon, France` -> `France`, `DE` -> `DE`).
pub(super) fn country_name(location: &str) -> String {
    let country = location.rsplit(',').next().unwrap_or(location).trim();
    COUNTRIES
        .iter()
        .find(|(code, name, _, _)| {
            code.eq_ignore_ascii_case(country) || name.eq_ignore_ascii_case(country)
        })
        .map_or_else(|| country.to_string(), |(code, _, _, _)| code.to_string())
}

/// Approximate centroids (lat, lon) of common countries, by ISO code or English name.
const COUNTRIES: [(&str, &str, f64, f64); 40] = [
    ("US", "United States", 39.8, -98.6),
    ("CA", "Canada", 56.1, -106.3),
    ("MX", "Mexico", 23.6, -102.5),
    ("BR", "Brazil", -14.2, -51.9),
    ("AR", "Argentina", -38.4, -63.6),
    ("GB", "United Kingdom", 54.0, -2.0),
    ("IE", "Ireland", 53.4, -8.2),
    ("FR", "France", 46.2, 2.2),
    ("DE", "Germany", 51.2, 10.4),
    ("NL", "Netherlands", 52.1, 5.3),
    ("BE", "Belgium", 50.5, 4.5),
    ("ES", "Spain", 40.5, -3.7),
    ("PT", "Portugal", 39.4, -8.2),
    ("IT", "Italy", 41.9, 12.6),
    ("CH", "Switzerland", 46.8, 8.2),
    ("AT", "Austria", 47.5, 14.6),
    ("PL", "Poland", 51.9, 19.1),
    ("SE", "Sweden", 60.1, 18.6),
    ("NO", "Norway", 60.5, 8.5),
    ("FI", "Finland", 61.9, 25.7),
    ("DK", "Denmark", 56.3, 9.5),
    ("RO", "Romania", 45.9, 25.0),
    ("UA", "Ukraine", 48.4, 31.2),
    ("RU", "Russia", 61.5, 105.3),
    ("TR", "Turkey", 39.0, 35.2),
    ("IL", "Israel", 31.0, 34.9),
    ("AE", "United Arab Emirates", 23.4, 53.8),
    ("IN", "India", 20.6, 79.0),
    ("CN", "China", 35.9, 104.2),
    ("JP", "Japan", 36.2, 138.3),
    ("KR", "South Korea", 35.9, 127.8),
    ("SG", "Singapore", 1.35, 103.8),
    ("AU", "Australia", -25.3, 133.8),
    ("NZ", "New Zealand", -40.9, 174.9),
    ("ZA", "South Africa", -30.6, 22.9),
    ("NG", "Nigeria", 9.1, 8.7),
    ("EG", "Egypt", 26.8, 30.8),
    ("ID", "Indonesia", -0.8, 113.9),
    ("VN", "Vietnam", 14.1, 108.3),
    ("KP", "North Korea", 40.3, 127.5),
];

pub(super) fn centroid(country: &str) -> Option<(f64, f64)> {
    COUNTRIES
        .iter()
        .find(|(code, name, _, _)| {
            code.eq_ignore_ascii_case(country) || name.eq_ignore_ascii_case(country)
        })
        .map(|(_, _, lat, lon)| (*lat, *lon))
}

/// The IANA zones of countries people sign in from, for the zone inference: the country
/// says where, the working hours say which of its zones; the zone knows daylight saving.
pub(super) const COUNTRY_ZONES: [(&str, &[&str]); 30] = [
    (
        "US",
        &[
            "America/New_York",
            "America/Chicago",
            "America/Denver",
            "America/Los_Angeles",
        ],
    ),
    (
        "CA",
        &[
            "America/Toronto",
            "America/Winnipeg",
            "America/Edmonton",
            "America/Vancouver",
        ],
    ),
    ("MX", &["America/Mexico_City"]),
    ("BR", &["America/Sao_Paulo"]),
    ("AR", &["America/Argentina/Buenos_Aires"]),
    ("GB", &["Europe/London"]),
    ("IE", &["Europe/Dublin"]),
    ("PT", &["Europe/Lisbon"]),
    ("FR", &["Europe/Paris"]),
    ("DE", &["Europe/Berlin"]),
    ("NL", &["Europe/Amsterdam"]),
    ("BE", &["Europe/Brussels"]),
    ("ES", &["Europe/Madrid"]),
    ("IT", &["Europe/Rome"]),
    ("CH", &["Europe/Zurich"]),
    ("AT", &["Europe/Vienna"]),
    ("PL", &["Europe/Warsaw"]),
    ("SE", &["Europe/Stockholm"]),
    ("NO", &["Europe/Oslo"]),
    ("DK", &["Europe/Copenhagen"]),
    ("FI", &["Europe/Helsinki"]),
    ("RO", &["Europe/Bucharest"]),
    ("IL", &["Asia/Jerusalem"]),
    ("AE", &["Asia/Dubai"]),
    ("IN", &["Asia/Kolkata"]),
    ("SG", &["Asia/Singapore"]),
    ("JP", &["Asia/Tokyo"]),
    ("KR", &["Asia/Seoul"]),
    (
        "AU",
        &[
            "Australia/Sydney",
            "Australia/Brisbane",
            "Australia/Adelaide",
            "Australia/Perth",
        ],
    ),
    ("NZ", &["Pacific/Auckland"]),
];
