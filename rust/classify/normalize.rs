//! Normalization: a line loses its GitHub Actions timestamp and its ANSI
//! escape sequences. The engine normalizes only the lines it needs, straight
//! from the raw log; `NormalizedLog` normalizes a whole log, for the naive scan.

use std::sync::LazyLock;

use memchr::{memchr, memchr3};
use regex::Regex;

/// A whole log after normalization, as the naive scan reads it. Every raw line
/// is kept here (dropping lines is the scan's business), so line `i` of the
/// index is line `i + 1` of the original log.
#[derive(Debug, Default)]
pub struct NormalizedLog {
    /// The normalized lines joined by `\n`, without a trailing newline.
    text: String,
    /// Byte offset in `text` where each line starts.
    starts: Vec<usize>,
}

impl NormalizedLog {
    pub fn new(raw: &str) -> Self {
        let mut text = String::with_capacity(raw.len());
        let mut starts = Vec::with_capacity(raw.len() / 64 + 1);
        let mut at = 0;
        while at < raw.len() {
            if !starts.is_empty() {
                text.push('\n');
            }
            starts.push(text.len());
            at = normalize_line_into(raw, at, &mut text);
        }
        Self { text, starts }
    }

    pub fn line_count(&self) -> usize {
        self.starts.len()
    }

    pub fn line(&self, index: usize) -> &str {
        &self.text[self.starts[index]..self.line_end(index)]
    }

    /// Offset just past the last byte of line `index` (where its `\n` would be).
    fn line_end(&self, index: usize) -> usize {
        self.starts
            .get(index + 1)
            .map_or(self.text.len(), |next| next - 1)
    }
}

/// Appends the normalized line of `raw` that starts at byte `start` to `out`:
/// the engine normalizes only the lines it needs.
pub fn push_normalized_line(raw: &str, start: usize, out: &mut String) {
    normalize_line_into(raw, start, out);
}

/// Whether the line of `raw` starting at `start` begins with `first` once
/// normalized. Only an escape sequence at its start can hide its first
/// character, so only then is the line normalized to find out.
pub fn normalized_starts_with(raw: &str, start: usize, first: char) -> bool {
    let text = &raw[start + timestamp_len(&raw[start..])..];
    match text.as_bytes().first() {
        Some(0x1B | 0xC2) => {
            let mut line = String::new();
            push_normalized_line(raw, start, &mut line);
            line.starts_with(first)
        }
        _ => text.starts_with(first),
    }
}

const TIMESTAMP_LEN: usize = "2024-01-01T00:00:00.0000000Z ".len();

/// The timestamp GitHub Actions puts before every line, unanchored.
pub const TIMESTAMP_PATTERN: &str = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}Z ";

/// `\d` in the reference pattern is Unicode-aware; only lines that start with
/// something non-ASCII can need it, so they alone take the slow path.
static TIMESTAMP: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!("^{TIMESTAMP_PATTERN}")).expect("valid timestamp regex"));

/// Length of the `YYYY-MM-DDTHH:MM:SS.fffffffZ ` prefix GitHub Actions puts
/// on every line, or 0 when the line has none.
fn timestamp_len(line: &str) -> usize {
    let bytes = line.as_bytes();
    if bytes.len() >= TIMESTAMP_LEN && is_ascii_timestamp(&bytes[..TIMESTAMP_LEN]) {
        return TIMESTAMP_LEN;
    }
    let head = &bytes[..line.len().min(TIMESTAMP_LEN * 4)];
    if head.is_ascii() {
        return 0;
    }
    let line = &line[..memchr(b'\n', bytes).unwrap_or(line.len())];
    TIMESTAMP.find(line).map_or(0, |m| m.end())
}

fn is_ascii_timestamp(b: &[u8]) -> bool {
    const DIGITS: [usize; 21] = [
        0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22, 23, 24, 25, 26,
    ];
    b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'.'
        && b[27] == b'Z'
        && b[28] == b' '
        && DIGITS.iter().all(|&i| b[i].is_ascii_digit())
}

/// Normalizes the line of `raw` starting at `start` into `out` and returns
/// where the next line starts. One scan finds the line end and every escape
/// candidate together, so each byte is looked at once.
fn normalize_line_into(raw: &str, start: usize, out: &mut String) -> usize {
    let bytes = raw.as_bytes();
    let mut copied = start + timestamp_len(&raw[start..]);
    let mut at = copied;
    loop {
        let Some(found) = memchr3(b'\n', 0x1B, 0xC2, &bytes[at..]).map(|i| at + i) else {
            push_line_tail(raw, copied, bytes.len(), out);
            return bytes.len();
        };
        if bytes[found] == b'\n' {
            push_line_tail(raw, copied, found, out);
            return found + 1;
        }
        // No escape sequence can contain `\n` or `\r`, so none runs past the line.
        match escape_len(bytes, found) {
            Some(len) => {
                out.push_str(&raw[copied..found]);
                copied = found + len;
                at = copied;
            }
            None => at = found + 1,
        }
    }
}

/// Appends `raw[from..end]`, the rest of a line, without its trailing `\r`.
fn push_line_tail(raw: &str, from: usize, end: usize, out: &mut String) {
    let tail = &raw[from..end];
    out.push_str(tail.strip_suffix('\r').unwrap_or(tail));
}

/// Length of the escape sequence starting at `start`, if one does.
fn escape_len(bytes: &[u8], start: usize) -> Option<usize> {
    let next = *bytes.get(start + 1)?;
    if bytes[start] == 0x1B {
        match next {
            0x40..=0x5A | 0x5C..=0x5F => Some(2),
            b'[' => control_sequence_len(bytes, start + 2).map(|len| len + 2),
            _ => None,
        }
    } else {
        // 0xC2 leads the two-byte encodings of U+0080..U+00BF.
        match next {
            0x9B => control_sequence_len(bytes, start + 2).map(|len| len + 2),
            0x80..=0x9F => Some(2),
            _ => None,
        }
    }
}

/// Parameter bytes, intermediate bytes, then the final byte of a CSI sequence.
fn control_sequence_len(bytes: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    while bytes.get(at).is_some_and(|b| (0x30..=0x3F).contains(b)) {
        at += 1;
    }
    while bytes.get(at).is_some_and(|b| (0x20..=0x2F).contains(b)) {
        at += 1;
    }
    bytes
        .get(at)
        .filter(|b| (0x40..=0x7E).contains(*b))
        .map(|_| at + 1 - from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(raw: &str) -> Vec<String> {
        let log = NormalizedLog::new(raw);
        (0..log.line_count())
            .map(|i| log.line(i).to_owned())
            .collect()
    }

    #[test]
    fn splits_on_newline_and_drops_one_carriage_return() {
        assert_eq!(lines("a\r\nb\n\nc"), ["a", "b", "", "c"]);
        assert_eq!(lines("a\n"), ["a"]);
        assert_eq!(lines("a\r\r\n"), ["a\r"]);
        assert!(lines("").is_empty());
        assert_eq!(lines("\n"), [""]);
    }

    #[test]
    fn strips_timestamp_then_escapes() {
        let raw = "2024-07-08T16:59:08.1747875Z pre \x1b[4mfoo\x1b[0m bar\n";
        assert_eq!(lines(raw), ["pre foo bar"]);
        assert_eq!(
            lines("2024-07-08T16:59:08.174787Z x"),
            ["2024-07-08T16:59:08.174787Z x"]
        );
        assert_eq!(
            lines(" 2024-07-08T16:59:08.1747875Z x"),
            [" 2024-07-08T16:59:08.1747875Z x"]
        );
    }

    #[test]
    fn unicode_digits_count_as_digits_in_timestamps() {
        assert_eq!(lines("٢٠٢٤-07-08T16:59:08.1747875Z x"), ["x"]);
    }

    /// Each case once normalized: every leftmost-first match of
    /// `\x1B[@-Z\\-_]|[\x80-\x9A\x9C-\x9F]|(?:\x1B\[|\x9B)[0-?]*[ -/]*[@-~]`
    /// (C1 controls as code points) deleted.
    #[test]
    fn escape_sequences_are_deleted_and_incomplete_ones_kept() {
        let cases = [
            ("\x1b[1m>>>\x1b[0m Lint", ">>> Lint"),
            ("\x1b[", "\x1b["),
            ("\x1b[12", "\x1b[12"),
            ("\x1b[1;2 ~x", "x"),
            ("\x1b[?25h", ""),
            ("\x1bM\x1b\\", ""),
            ("\x1b[\x1b[0m", "\x1b["),
            ("\u{9b}31m red", " red"),
            ("\u{9b}", "\u{9b}"),
            ("\u{9b}1", "\u{9b}1"),
            ("\u{85}x\u{9c}y\u{9f}", "xy"),
            ("é\u{c2}ü", "é\u{c2}ü"),
            ("\x1b", "\x1b"),
            ("\x1bz", "\x1bz"),
            ("plain", "plain"),
            ("\x1b[38;5;200mcolour\x1b[0m", "colour"),
        ];
        for (raw, normalized) in cases {
            assert_eq!(lines(raw), [normalized], "{raw:?}");
        }
    }

    #[test]
    fn single_lines_normalize_like_the_whole_log() {
        let raw = "2024-07-08T16:59:08.1747875Z \x1b[1m+ make\x1b[0m\r\n+ ls\n\x1b[0mx\n\u{85}+\n";
        let mut line = String::new();
        let starts = [0, raw.find("+ ls").unwrap(), raw.find("\x1b[0mx").unwrap()];
        for (index, start) in starts.into_iter().enumerate() {
            line.clear();
            push_normalized_line(raw, start, &mut line);
            assert_eq!(line, lines(raw)[index]);
        }
        let plus: Vec<bool> = [0, starts[1], starts[2], raw.find('\u{85}').unwrap()]
            .into_iter()
            .map(|start| normalized_starts_with(raw, start, '+'))
            .collect();
        assert_eq!(plus, [true, true, false, true]);
    }

    #[test]
    fn lines_are_indexed_in_order() {
        let log = NormalizedLog::new("ab\ncd\n\nef");
        assert_eq!(log.line_count(), 4);
        assert_eq!(log.line(1), "cd");
        assert_eq!(log.line(2), "");
        assert_eq!(log.line(3), "ef");
    }
}
