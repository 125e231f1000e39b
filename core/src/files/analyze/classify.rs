//! What a single value is: integer, number, boolean, date or text.

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Class {
    Int(i64),
    Num(f64),
    Bool,
    Date,
    Text,
}

pub(super) const K_INT: u8 = 1;
pub(super) const K_NUM: u8 = 2;
pub(super) const K_BOOL: u8 = 4;
pub(super) const K_DATE: u8 = 8;
pub(super) const K_TEXT: u8 = 16;

/// The value with surrounding whitespace (ASCII fast path, Unicode otherwise) removed.
pub(super) fn trim_value(v: &[u8]) -> &[u8] {
    let t = v.trim_ascii();
    match (t.first(), t.last()) {
        (Some(&first), Some(&last)) if first >= 0x80 || last >= 0x80 => {
            std::str::from_utf8(t).map_or(t, |s| s.trim().as_bytes())
        }
        _ => t,
    }
}

/// Classifies a trimmed, non-empty value.
pub(super) fn classify(v: &[u8]) -> Class {
    match v.first() {
        Some(b'0'..=b'9' | b'+' | b'-' | b'.') => {
            if let Some(i) = parse_int(v) {
                Class::Int(i)
            } else if is_date(v) {
                Class::Date
            } else if let Some(f) = parse_float(v) {
                Class::Num(f)
            } else {
                Class::Text
            }
        }
        Some(b't' | b'T' | b'f' | b'F' | b'y' | b'Y' | b'n' | b'N') if is_bool(v) => Class::Bool,
        _ => Class::Text,
    }
}

/// Optional sign and ASCII digits that fit an i64.
fn parse_int(v: &[u8]) -> Option<i64> {
    let (negative, digits) = match v.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, v),
    };
    if digits.is_empty() {
        return None;
    }
    let mut n: u64 = 0;
    for &b in digits {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(d))?;
    }
    if negative {
        0i64.checked_sub_unsigned(n)
    } else {
        i64::try_from(n).ok()
    }
}

/// A finite decimal number ("1.5", "-.5", "1e3"); never the words nan/inf.
fn parse_float(v: &[u8]) -> Option<f64> {
    let mut digit = false;
    for &b in v {
        match b {
            b'0'..=b'9' => digit = true,
            b'+' | b'-' | b'.' | b'e' | b'E' => {}
            _ => return None,
        }
    }
    if !digit {
        return None;
    }
    let f: f64 = std::str::from_utf8(v).ok()?.parse().ok()?;
    f.is_finite().then_some(f)
}

#[inline]
fn is_bool(v: &[u8]) -> bool {
    match v.len() {
        2 => v.eq_ignore_ascii_case(b"no"),
        3 => v.eq_ignore_ascii_case(b"yes"),
        4 => v.eq_ignore_ascii_case(b"true"),
        5 => v.eq_ignore_ascii_case(b"false"),
        _ => false,
    }
}

fn digits(v: &[u8]) -> Option<u32> {
    if v.is_empty() || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(v.iter().fold(0u32, |n, &b| n * 10 + u32::from(b - b'0')))
}

/// "YYYY-MM-DD", optionally followed by "T" or " " and "HH:MM[:SS[.fff]][Z|±HH[:]MM]".
fn is_date(v: &[u8]) -> bool {
    let (Some(date), rest) = (v.get(..10), v.get(10..).unwrap_or_default()) else {
        return false;
    };
    let ok_date = digits(&date[..4]).is_some()
        && date[4] == b'-'
        && date[7] == b'-'
        && digits(&date[5..7]).is_some_and(|m| (1..=12).contains(&m))
        && digits(&date[8..10]).is_some_and(|d| (1..=31).contains(&d));
    if !ok_date {
        return false;
    }
    match rest.split_first() {
        None => true,
        Some((b'T' | b't' | b' ', time)) => is_time(time),
        Some(_) => false,
    }
}

fn is_time(t: &[u8]) -> bool {
    let Some(hm) = t.get(..5) else { return false };
    if hm[2] != b':'
        || digits(&hm[..2]).is_none_or(|h| h > 24)
        || digits(&hm[3..5]).is_none_or(|m| m > 59)
    {
        return false;
    }
    let mut rest = &t[5..];
    // Seconds.
    if let Some((b':', tail)) = rest.split_first() {
        match tail.get(..2).and_then(digits) {
            Some(s) if s <= 60 => rest = &tail[2..],
            _ => return false,
        }
        // Fraction.
        if let Some((b'.' | b',', tail)) = rest.split_first() {
            let n = tail.iter().take_while(|b| b.is_ascii_digit()).count();
            if n == 0 {
                return false;
            }
            rest = &tail[n..];
        }
    }
    // Time zone.
    match rest.split_first() {
        None => true,
        Some((b'Z' | b'z', tail)) => tail.is_empty(),
        Some((b'+' | b'-', tz)) => match tz.len() {
            2 => digits(tz).is_some(),
            4 => digits(tz).is_some(),
            5 => tz[2] == b':' && digits(&tz[..2]).is_some() && digits(&tz[3..]).is_some(),
            _ => false,
        },
        Some(_) => false,
    }
}
