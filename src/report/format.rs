//! Text of table cells: compact numbers, memory sizes and shortened messages.

use polars::prelude::AnyValue;

/// Significant digits of a metric in the tables.
const SIGNIFICANT_DIGITS: i32 = 4;

/// Formats a metric with 4 significant digits, like C's `%.4g` without trailing zeros:
/// `0.5124`, `1235`, `1.235e4`, `5e-5`.
pub fn format_metric(value: f64) -> String {
    if !value.is_finite() {
        return match value {
            value if value.is_nan() => "NaN".into(),
            value if value > 0.0 => "inf".into(),
            _ => "-inf".into(),
        };
    }
    if value == 0.0 {
        return "0".into();
    }

    // `{:e}` rounds to the requested digits first, so 9.9996 gives the exponent of 10.00.
    let scientific = format!("{:.*e}", (SIGNIFICANT_DIGITS - 1) as usize, value);
    let (mantissa, exponent) = scientific.split_once('e').expect("`{:e}` writes an exponent");
    let exponent: i32 = exponent.parse().expect("`{:e}` writes an integer exponent");

    if (-4..SIGNIFICANT_DIGITS).contains(&exponent) {
        let decimals = (SIGNIFICANT_DIGITS - 1 - exponent).max(0) as usize;
        trim_zeros(&format!("{value:.decimals$}")).to_string()
    } else {
        format!("{}e{exponent}", trim_zeros(mantissa))
    }
}

/// Formats a hyperparameter float exactly, in the shortest text that reads back as the same
/// number, so two values that differ never look alike: `0.0004`, `5e-5`.
pub fn format_exact(value: f64) -> String {
    let plain = format!("{value}");
    let scientific = format!("{value:e}");
    if plain.len() <= scientific.len() + 2 { plain } else { scientific }
}

/// Formats a size in bytes as MiB or GiB with 4 significant digits, such as `512 MiB`.
pub fn format_bytes(bytes: f64) -> String {
    const MIB: f64 = (1u64 << 20) as f64;
    const GIB: f64 = (1u64 << 30) as f64;
    if bytes >= GIB {
        format!("{} GiB", format_metric(bytes / GIB))
    } else {
        format!("{} MiB", format_metric(bytes / MIB))
    }
}

/// Returns the first line of `text`, cut to `max_chars` characters with an ellipsis.
pub fn shorten(text: &str, max_chars: usize) -> String {
    let first_line = text.lines().next().unwrap_or_default().trim();
    let cut = first_line.chars().count() > max_chars || text.trim().lines().count() > 1;
    match cut {
        true => format!("{}…", first_line.chars().take(max_chars).collect::<String>().trim_end()),
        false => first_line.to_string(),
    }
}

/// Formats a table value: empty for null, `format_exact` for floats, plain text otherwise.
pub fn format_value(value: &AnyValue<'_>) -> String {
    match value {
        AnyValue::Null => String::new(),
        AnyValue::Float64(float) => format_exact(*float),
        AnyValue::Float32(float) => format_exact(f64::from(*float)),
        AnyValue::String(text) => text.to_string(),
        AnyValue::StringOwned(text) => text.to_string(),
        other => other.to_string(),
    }
}

fn trim_zeros(number: &str) -> &str {
    match number.contains('.') {
        true => number.trim_end_matches('0').trim_end_matches('.'),
        false => number,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_has_four_significant_digits() {
        let cases = [
            (0.512_345, "0.5123"),
            (2.0, "2"),
            (1234.56, "1235"),
            (12_345.6, "1.235e4"),
            (9.999_61, "10"),
            (0.000_123_456, "0.0001235"),
            (0.000_005, "5e-6"),
            (-3.25, "-3.25"),
            (0.0, "0"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "inf"),
        ];
        for (value, expected) in cases {
            assert_eq!(format_metric(value), expected, "value {value}");
        }
    }

    #[test]
    fn exact_keeps_every_digit() {
        assert_eq!(format_exact(0.0004), "0.0004");
        assert_eq!(format_exact(5e-5), "5e-5");
        assert_eq!(format_exact(1.000_01e-4), "0.000100001");
        assert_eq!(format_exact(1e6), "1e6");
        assert_eq!(format_exact(0.9), "0.9");
        assert_eq!(format_exact(2.0), "2");
    }

    #[test]
    fn bytes_as_mib_or_gib() {
        assert_eq!(format_bytes(512.0 * 1024.0 * 1024.0), "512 MiB");
        assert_eq!(format_bytes(3.0 * 1024.0 * 1024.0 * 1024.0), "3 GiB");
        assert_eq!(format_bytes(1_500_000_000.0), "1.397 GiB");
    }

    #[test]
    fn shorten_cuts_long_and_multiline_text() {
        assert_eq!(shorten("out of memory", 20), "out of memory");
        assert_eq!(shorten("abcdefghij", 4), "abcd…");
        assert_eq!(shorten("first line\nsecond line", 40), "first line…");
    }

    #[test]
    fn value_text_by_type() {
        assert_eq!(format_value(&AnyValue::Null), "");
        assert_eq!(format_value(&AnyValue::Int64(3)), "3");
        assert_eq!(format_value(&AnyValue::Boolean(true)), "true");
        assert_eq!(format_value(&AnyValue::String("gpt-micro")), "gpt-micro");
        assert_eq!(format_value(&AnyValue::Float64(1e-4)), "0.0001");
    }
}
