//! How the portal writes sizes, dates and digests for people: French conventions (`1,5 Mo`,
//! binary multiples as file managers show them; dates and hours in Paris time), one way on
//! every page.

use time::format_description::well_known::Rfc3339;
use time::{Date, Month, OffsetDateTime, UtcOffset, Weekday};

use super::esc;

/// Characters of a sha256 shown in tables (the whole digest is in the title).
const SHORT_SHA_CHARS: usize = 12;

/// A size as people read it, in French (binary multiples).
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["Ko", "Mo", "Go", "To"];
    if bytes < 1024 {
        return format!("{bytes} octet{}", if bytes > 1 { "s" } else { "" });
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    let text = if value < 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.0}")
    };
    format!("{} {}", text.replace('.', ","), UNITS[unit])
}

/// Last Sunday of `month` in `year`, at 01:00 UTC (when France changes its clocks).
fn last_sunday_1h_utc(year: i32, month: Month) -> Option<OffsetDateTime> {
    let next_first = match month {
        Month::December => Date::from_calendar_date(year + 1, Month::January, 1),
        _ => Date::from_calendar_date(year, month.next(), 1),
    }
    .ok()?;
    let mut day = next_first.previous_day()?;
    while day.weekday() != Weekday::Sunday {
        day = day.previous_day()?;
    }
    Some(day.with_hms(1, 0, 0).ok()?.assume_utc())
}

/// A Unix time as a date and hour in Paris (`17/03/2030 11:00`): summer time from the last
/// Sunday of March to the last Sunday of October, as the European rule sets it.
pub fn paris_time(unix: i64) -> String {
    let Ok(utc) = OffsetDateTime::from_unix_timestamp(unix) else {
        return "—".into();
    };
    let summer = match (
        last_sunday_1h_utc(utc.year(), Month::March),
        last_sunday_1h_utc(utc.year(), Month::October),
    ) {
        (Some(start), Some(end)) => utc >= start && utc < end,
        _ => false,
    };
    let hours = if summer { 2 } else { 1 };
    let offset = UtcOffset::from_hms(hours, 0, 0).unwrap_or(UtcOffset::UTC);
    let local = utc.to_offset(offset);
    format!(
        "{:02}/{:02}/{} {:02}:{:02}",
        local.day(),
        u8::from(local.month()),
        local.year(),
        local.hour(),
        local.minute()
    )
}

/// An RFC 3339 time (as deposit records keep them) as [`paris_time`] shows it; a dash when
/// absent or unreadable.
pub fn date(rfc3339: Option<&str>) -> String {
    rfc3339
        .and_then(|text| OffsetDateTime::parse(text, &Rfc3339).ok())
        .map_or_else(|| "—".into(), |t| paris_time(t.unix_timestamp()))
}

/// The first digits of a sha256, with the whole digest as a tooltip.
pub fn short_sha(sha256: &str) -> String {
    let short: String = sha256.chars().take(SHORT_SHA_CHARS).collect();
    format!("<code title=\"{}\">{}</code>", esc(sha256), esc(&short))
}

/// `one` or `many` after a count, by the French rule (0 and 1 take the singular).
pub fn plural<'a>(count: usize, one: &'a str, many: &'a str) -> &'a str {
    if count < 2 {
        one
    } else {
        many
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paris_time_follows_summer_time() {
        // 2030-03-17T10:00:00Z: winter, UTC+1.
        assert_eq!(paris_time(1_899_972_000), "17/03/2030 11:00");
        // 2030-07-01T12:00:00Z: summer, UTC+2.
        assert_eq!(paris_time(1_909_137_600), "01/07/2030 14:00");
        // 2024-03-31T00:59:59Z is still winter; 01:00:00Z is summer (last Sunday of March).
        assert_eq!(paris_time(1_711_846_799), "31/03/2024 01:59");
        assert_eq!(paris_time(1_711_846_800), "31/03/2024 03:00");
    }

    #[test]
    fn dates_are_paris_times_or_a_dash() {
        assert_eq!(date(Some("2030-07-01T12:00:00Z")), "01/07/2030 14:00");
        assert_eq!(
            date(Some("2030-07-01T12:00:00.25+00:00")),
            "01/07/2030 14:00"
        );
        assert_eq!(date(None), "—");
        assert_eq!(date(Some("<bad>")), "—");
    }

    #[test]
    fn short_digests_keep_the_whole_one_as_a_title() {
        let sha = "ab".repeat(32);
        assert_eq!(
            short_sha(&sha),
            format!("<code title=\"{sha}\">abababababab</code>")
        );
    }

    #[test]
    fn french_plurals_start_at_two() {
        assert_eq!(plural(0, "fichier", "fichiers"), "fichier");
        assert_eq!(plural(1, "a déposé", "ont déposé"), "a déposé");
        assert_eq!(plural(2, "fichier", "fichiers"), "fichiers");
    }

    #[test]
    fn sizes_read_in_french() {
        assert_eq!(size(1), "1 octet");
        assert_eq!(size(512), "512 octets");
        assert_eq!(size(1536), "1,5 Ko");
        assert_eq!(size(100 * 1024 * 1024), "100 Mo");
    }
}
