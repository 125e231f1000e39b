//! Text helpers of the analysis: cuts at character boundaries, plurals,
//! one-paragraph cleaning and number formatting.

/// "1 row", "2 rows".
pub(super) fn plural(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Control characters (newlines, tabs) become spaces so the summary stays one paragraph.
pub(super) fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Formats a statistic: integers exactly, others with up to 4 decimals
/// (6 below 1, scientific notation when very large or very small).
pub(super) fn fmt_num(x: f64) -> String {
    let a = x.abs();
    if x == x.trunc() && a < 1e15 {
        return format!("{}", x as i64);
    }
    if !(1e-4..1e15).contains(&a) {
        let s = format!("{x:.4e}");
        return match s.split_once('e') {
            Some((mantissa, exp)) => {
                let mantissa = mantissa.trim_end_matches('0').trim_end_matches('.');
                format!("{mantissa}e{exp}")
            }
            None => s,
        };
    }
    let s = if a < 1.0 {
        format!("{x:.6}")
    } else {
        format!("{x:.4}")
    };
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// The longest prefix of `s` with at most `max` characters.
pub(super) fn cut_chars(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => s.get(..i).unwrap_or(s),
        None => s,
    }
}
