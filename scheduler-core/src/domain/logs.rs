//! Bounded execution logs (docs/history.md, "Logs are bounded").
//!
//! An execution keeps at most `max_log_bytes` of logs. When an append would
//! exceed it, the oldest bytes go and the logs start with a marker
//! `[... N bytes truncated]\n`, where `N` counts every byte dropped so far.
//! The marker is part of the limit. A cut never splits a UTF-8 character:
//! the bytes of a character cut in two are dropped (and counted) with it.
//!
//! The MySQL store runs the same algorithm in SQL (a stored function), so
//! that concurrent appends are truncated by the database itself; both
//! implementations are checked against the same conformance cases.

/// Default `history.max_log_bytes`.
pub const DEFAULT_MAX_LOG_BYTES: usize = 65_536;

/// The smallest limit that leaves room for the marker and some text.
pub const MIN_MAX_LOG_BYTES: usize = 256;

const MARKER_HEAD: &str = "[... ";
const MARKER_TAIL: &str = " bytes truncated]\n";

/// The marker for `n` dropped bytes.
pub fn truncation_marker(n: u64) -> String {
    format!("{MARKER_HEAD}{n}{MARKER_TAIL}")
}

/// Splits stored logs into the bytes dropped so far and the kept text after
/// the marker. Logs without a marker dropped nothing.
pub fn split_marker(logs: &str) -> (u64, &str) {
    let Some(rest) = logs.strip_prefix(MARKER_HEAD) else {
        return (0, logs);
    };
    let Some(end) = rest.find(MARKER_TAIL) else {
        return (0, logs);
    };
    match rest[..end].parse::<u64>() {
        Ok(n) if !rest[..end].starts_with('+') => (n, &rest[end + MARKER_TAIL.len()..]),
        _ => (0, logs),
    }
}

/// `existing` with `line` appended (after a `\n` when there was text), kept
/// within `max` bytes as the module describes.
pub fn append_bounded(existing: Option<&str>, line: &str, max: usize) -> String {
    let (dropped, body) = existing.map_or((0, None), |l| {
        let (n, b) = split_marker(l);
        (n, Some(b))
    });
    let combined = match body {
        Some(b) => {
            let mut s = String::with_capacity(b.len() + 1 + line.len());
            s.push_str(b);
            s.push('\n');
            s.push_str(line);
            s
        }
        None => line.to_owned(),
    };
    bound(dropped, combined, max)
}

/// Text written whole (an insert with logs), kept within `max` bytes.
pub fn bounded(text: &str, max: usize) -> String {
    let (dropped, body) = split_marker(text);
    bound(dropped, body.to_owned(), max)
}

fn bound(dropped: u64, body: String, max: usize) -> String {
    if dropped == 0 && body.len() <= max {
        return body;
    }
    // The marker's length depends on the count it shows: grow the cut until
    // the marker and the rest fit (two rounds at most in practice).
    let mut cut = 0usize;
    loop {
        let marker_len = MARKER_HEAD.len() + MARKER_TAIL.len() + digits(dropped + cut as u64);
        let budget = max.saturating_sub(marker_len);
        let mut want = body.len().saturating_sub(budget).max(cut);
        while !body.is_char_boundary(want) {
            want += 1;
        }
        if want == cut {
            let mut out = truncation_marker(dropped + cut as u64);
            out.push_str(&body[cut..]);
            return out;
        }
        cut = want;
    }
}

fn digits(n: u64) -> usize {
    n.checked_ilog10().map_or(1, |d| d as usize + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_logs_are_kept_whole() {
        assert_eq!(append_bounded(None, "a", 300), "a");
        assert_eq!(append_bounded(Some("a"), "b", 300), "a\nb");
    }

    #[test]
    fn a_long_append_keeps_the_newest_bytes_behind_a_marker() {
        let line = "x".repeat(1000);
        let out = append_bounded(None, &line, 300);
        assert_eq!(out.len(), 300);
        let (n, body) = split_marker(&out);
        assert_eq!(n as usize + body.len(), 1000);
        assert!(out.starts_with(&format!("[... {n} bytes truncated]\n")));
    }

    #[test]
    fn the_count_accumulates_over_appends() {
        let mut logs: Option<String> = None;
        let mut written = 0usize;
        for i in 0..50 {
            let line = format!("{i:04}{}", "y".repeat(96));
            written += line.len() + usize::from(logs.is_some());
            logs = Some(append_bounded(logs.as_deref(), &line, 1000));
            assert!(logs.as_ref().unwrap().len() <= 1000);
        }
        let logs = logs.unwrap();
        let (n, body) = split_marker(&logs);
        assert_eq!(n as usize + body.len(), written, "every byte is kept or counted");
        assert!(body.ends_with(&format!("0049{}", "y".repeat(96))));
    }

    #[test]
    fn a_cut_never_splits_a_character() {
        let line = "é".repeat(400); // 800 bytes
        let out = append_bounded(None, &line, 301);
        assert!(out.len() <= 301);
        let (n, body) = split_marker(&out);
        assert_eq!(n as usize + body.len(), 800);
        assert!(body.chars().all(|c| c == 'é'));
    }

    #[test]
    fn text_that_looks_like_a_marker_but_is_not_is_plain_text() {
        assert_eq!(
            split_marker("[... x bytes truncated]\nrest"),
            (0, "[... x bytes truncated]\nrest")
        );
        assert_eq!(split_marker("[... 12 bytes"), (0, "[... 12 bytes"));
    }
}
