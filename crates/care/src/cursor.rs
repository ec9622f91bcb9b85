//! The events list's opaque cursor: the base64url text of the last id a page held.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};

// paging: one encode/decode pair, to swap for the platform's keyset-paging helper when it lands.
/// The cursor that continues after the event `last_id`.
pub(crate) fn encode(last_id: i64) -> String {
    URL_SAFE_NO_PAD.encode(last_id.to_string())
}

// paging: the other half of the pair above.
/// The id a cursor continues after; `None` for text no [`encode`] made.
pub(crate) fn decode(cursor: &str) -> Option<i64> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let text = std::str::from_utf8(&bytes).ok()?;
    // Only the canonical text of a positive id: no sign, no leading zero.
    if text.starts_with(['0', '+', '-']) {
        return None;
    }
    text.parse::<i64>().ok().filter(|id| *id >= 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_anything_else() {
        for id in [1, 42, i64::MAX] {
            assert_eq!(decode(&encode(id)), Some(id));
        }
        for bad in ["", "!", "MA", "LTE", "eA", "MDE", "KzE", &URL_SAFE_NO_PAD.encode("9223372036854775808")] {
            assert_eq!(decode(bad), None, "{bad}");
        }
    }
}
