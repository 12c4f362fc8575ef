//! The rule-free locator: when no rule names a log's failure, or only a
//! wrapper or catch-all rule does, it scores the kept lines by the evidence
//! they carry and points at the best one. It knows no project: its evidence
//! is an error lexicon, where a term sits in the line, the shape of a
//! compiler or linter message, and how near the line is to where the failing
//! step or job ended; known noise (progress, warnings, retries, lines
//! repeated many times, wrappers that only report that something else
//! failed) weighs less.
//!
//! It never invents a failure: a log that does not say that it failed (no
//! `##[error]`, no non-zero exit, no `BUILD FAILURE` and the like near its
//! end) gets no located line, and that check reads only the end of the log,
//! so a successful log stays as cheap as before.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, MatchKind};
use memchr::memmem;
use regex::Regex;

use super::ignore::KeptLines;
use super::normalize;

/// What the locator found: a kept line and how strongly it looks like the
/// cause of the failure.
#[derive(Debug, Clone, PartialEq)]
pub struct Located {
    /// 0-based line number in the original log.
    pub line: usize,
    /// Offset of the line's first byte in the original log.
    pub start: usize,
    /// The line, normalized.
    pub text: String,
    /// Its stable part (`stable_text`), so that located verdicts group.
    pub stable: String,
    /// 0 to 1.
    pub score: f64,
}

/// The lines of a passing run of the same job, by their stable part: a line
/// that a green run prints too is not why this run failed.
#[derive(Debug, Default)]
pub struct Baseline {
    lines: HashSet<String>,
}

impl Baseline {
    pub fn new(raw: &str) -> Self {
        let log = normalize::NormalizedLog::new(raw);
        let lines = (0..log.line_count())
            .map(|i| stable_text(log.line(i)))
            .filter(|stable| !stable.is_empty())
            .collect();
        Self { lines }
    }

    /// Whether the green run printed a line with the stable part of `line`
    /// (a normalized line).
    pub fn contains(&self, line: &str) -> bool {
        let stable = stable_text(line);
        !stable.is_empty() && self.lines.contains(&stable)
    }
}

/// `line` without what changes from run to run: its words that are paths or
/// URLs, numbers (counts, durations, timestamps, versions, ids) and hashes,
/// and a leading `##[error]`. Punctuation and codes such as `E302` or
/// `LNK2019` stay: they say what failed.
pub fn stable_text(line: &str) -> String {
    let line = line.trim_start();
    let line = line.strip_prefix("##[error]").unwrap_or(line);
    line.split_whitespace()
        .filter(|word| !is_volatile(word))
        .collect::<Vec<_>>()
        .join(" ")
}

fn is_volatile(word: &str) -> bool {
    // Paths, URLs, and `file:line` or `call(3)` positions.
    let position = word
        .as_bytes()
        .windows(2)
        .any(|w| matches!(w[0], b':' | b'(' | b'[') && w[1].is_ascii_digit());
    if position || word.contains(['/', '\\']) {
        return true;
    }
    let core = word.trim_matches(|c: char| !c.is_alphanumeric());
    let mut chars = core.chars();
    let first = chars.next();
    let starts_with_number = match first {
        Some(c) if c.is_ascii_digit() => true,
        Some('v' | 'V') => chars.next().is_some_and(|c| c.is_ascii_digit()),
        _ => false,
    };
    let hash = |part: &str| {
        part.len() >= 7
            && part.chars().all(|c| c.is_ascii_hexdigit())
            && part.chars().any(|c| c.is_ascii_digit())
    };
    starts_with_number || core.split('-').any(hash)
}

/// How much a term says that something failed, before its place in the line
/// counts. Terms of weight 0 say nothing on their own; they find the lines
/// that end a step (`exit`) or retry (`retry`, `attempt`).
const LEXICON: &[(&str, f64)] = &[
    ("error", 0.8),
    ("fatal", 0.9),
    ("panic", 0.9),
    ("segmentation fault", 0.9),
    ("exception", 0.7),
    ("traceback", 0.6),
    ("failed", 0.8),
    ("failure", 0.7),
    ("fail", 0.6),
    ("cannot", 0.6),
    ("can't", 0.5),
    ("could not", 0.6),
    ("couldn't", 0.5),
    ("unable to", 0.6),
    ("not found", 0.6),
    ("no such", 0.6),
    ("undefined", 0.6),
    ("denied", 0.6),
    ("refused", 0.6),
    ("timed out", 0.6),
    ("timeout", 0.4),
    ("terminated", 0.5),
    ("killed", 0.6),
    ("aborted", 0.6),
    ("nothing provides", 0.7),
    ("missing", 0.4),
    ("invalid", 0.4),
    ("unexpected", 0.4),
    ("unsafe", 0.4),
    ("wrong", 0.4),
    ("conflict", 0.4),
    ("no output", 0.6),
    ("exit", 0.0),
    ("retry", 0.0),
    ("retrying", 0.0),
    ("attempt", 0.0),
];

static TERMS: LazyLock<AhoCorasick> = LazyLock::new(|| {
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::LeftmostLongest)
        .build(LEXICON.iter().map(|(term, _)| term))
        .expect("a few dozen short terms always fit an automaton")
});

/// A compiler's, linker's or linter's location: `path:line[:col]`,
/// `path(line,col)`, `path:[line,col]`, before the message.
static LOCATION: LazyLock<Regex> = LazyLock::new(|| {
    compiled(
        r"(?:^|[\s\[])[\w.\-/\\]*\w\.\w{1,8}(?::\d+(?::\d+)?(?:-\d+(?::\d+)?)?|\(\d+(?:,\d+)?\)|:\[\d+,\d+\]):?(?:\s|$)",
    )
});

/// A linter finding without a word of the lexicon: `path:12:5: E302 ...`.
static LINT_FINDING: LazyLock<Regex> =
    LazyLock::new(|| compiled(r"^[\w.\-/\\]+\.\w{1,8}:\d+:\d+: [A-Z]{1,4}\d{2,5}:? "));

/// Lines that report that something else failed (a build tool, a step, the
/// job): evidence that the log failed, and where the cause stops, but not
/// the cause.
static WRAPPER: LazyLock<Regex> = LazyLock::new(|| {
    compiled(
        r"(?x)
        ^g?make(?:\[\d+\])?:\ \*\*\*
        | recipe\ for\ target\ .*\ failed
        | Execution\ failed\ for\ task
        | Failed\ to\ execute\ goal
        | Process\ completed\ with\ exit\ code\ [1-9]
        | exit(?:ed\ with|\ code|\ status)[:\ ]*[1-9]
        | returned\ non-zero\ exit\ status
        | \b[Ee]xit(?:ing|ed)?\ with\ (?:failure|error|non-zero)
        | \bBUILD\ (?:FAILURE|FAILED)\b
        | \bBuild\ (?:FAILED|failed)\b
        | ^Finished:\ FAILURE
        | \bTest\ Run\ Failed\b
        | \bCommand\ failed\b
        | ^FAILURE:
        | ^FAIL\b
        | has\ been\ terminated
        | ^(?:Failed|FAILED|Errors?|ERRORS?|Failures?):\ *[1-9]\d*$
        ",
    )
});

/// Markers, progress bars and commands: lines that never say what failed.
static NOISE: LazyLock<Regex> = LazyLock::new(|| {
    compiled(r"^(?:##\[(?:group|endgroup|debug|warning|notice)\]|\[command\]|[+$] )|━|%\|")
});

static WARNING: LazyLock<Regex> =
    LazyLock::new(|| compiled(r"(?i)^\W*warn(?:ing)?s?\b|\[warn(?:ing)?\]"));

static RETRY: LazyLock<Regex> =
    LazyLock::new(|| compiled(r"(?i)\bretry(?:ing)?\b|\battempt #?\d+"));

/// "0 errors", "Failures: 0": a count of nothing is no failure.
static ZERO_COUNT: LazyLock<Regex> = LazyLock::new(|| {
    compiled(
        r"(?i)\b0 (?:errors?|failures?|failed)\b|\b(?:errors?|failures?|failed)(?:\(s\))?\W{1,3}0\b",
    )
});

/// Without `##[error]` in its last `SEARCH_WINDOW` bytes, a log must say
/// that it failed within this many bytes of its end (Travis, Jenkins, mock
/// and the build tools print the outcome last).
const EVIDENCE_TAIL: usize = 64 << 10;

/// Whether `raw` says that it failed: GitHub Actions marks every failing
/// step with `##[error]` (looked for where the locator searches), other CI
/// systems end with a wrapper line. Neither search reads a large log whole.
pub fn has_failure_evidence(raw: &str) -> bool {
    if memmem::find(tail(raw, SEARCH_WINDOW).as_bytes(), b"##[error]").is_some() {
        return true;
    }
    let tail = tail(raw, EVIDENCE_TAIL);
    let mut line = String::new();
    tail.split('\n').any(|raw_line| {
        line.clear();
        normalize::push_normalized_line(raw_line, 0, &mut line);
        WRAPPER.is_match(&line)
    })
}

/// The end of `raw`, from its first line that starts within the last `len`
/// bytes (the whole of a shorter log).
fn tail(raw: &str, len: usize) -> &str {
    let before = raw.len().saturating_sub(len);
    let start = memchr::memrchr(b'\n', &raw.as_bytes()[..before]).map_or(0, |i| i + 1);
    &raw[start..]
}

/// A line holding a retry this many lines after an error retried it.
const RETRY_WINDOW: usize = 5;
/// A line whose stable part occurs this often is a pattern, not an event.
const REPEATED: usize = 5;

/// One kept line with evidence, before the evidence around it is weighed.
struct Candidate {
    line: usize,
    start: usize,
    text: String,
    stable: String,
    /// What the line itself says, 0 to 1.
    own: f64,
    wrapper: bool,
    retry: bool,
}

/// The kept line of `raw` most likely to be why the log failed, if the log
/// failed at all; lines a passing run (`baseline`) prints too are passed over.
pub fn locate(raw: &str, kept: &KeptLines, baseline: Option<&Baseline>) -> Option<Located> {
    if !has_failure_evidence(raw) {
        return None;
    }
    let (candidates, anchors) = candidates(raw, kept, baseline);
    let retries: Vec<usize> = candidates
        .iter()
        .filter(|c| c.retry)
        .map(|c| c.line)
        .collect();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for candidate in &candidates {
        *seen.entry(candidate.stable.as_str()).or_default() += 1;
    }
    let mut earlier: HashSet<&str> = HashSet::new();
    let mut best: Option<(&Candidate, f64)> = None;
    for candidate in &candidates {
        let mut score = candidate.own;
        let echo =
            candidate.text.starts_with("##[error]") && earlier.contains(candidate.stable.as_str());
        if candidate.wrapper || echo {
            score *= 0.4;
        }
        if candidate.retry {
            score *= 0.3;
        } else if retries
            .get(retries.partition_point(|&r| r <= candidate.line))
            .is_some_and(|&r| r <= candidate.line + RETRY_WINDOW)
        {
            score *= 0.5;
        }
        if seen[candidate.stable.as_str()] >= REPEATED {
            score *= 0.5;
        }
        score *= nearness(candidate.line, &anchors);
        earlier.insert(&candidate.stable);
        // The first of equally good lines: a cause comes before its echoes.
        if best.map_or(true, |(_, top)| score > top + 1e-9) {
            best = Some((candidate, score));
        }
    }
    let (found, score) = best.filter(|&(_, score)| score > 0.0)?;
    Some(Located {
        line: found.line,
        start: found.start,
        text: found.text.clone(),
        stable: found.stable.clone(),
        score: (score.min(1.0) * 100.0).round() / 100.0,
    })
}

/// How much nearness to the end of a failing step or job adds: full within a
/// few screenfuls before it (wide, so that the first of a run of errors is
/// not outranked by its followers), less further up, little after the last
/// one (a job's cleanup).
fn nearness(line: usize, anchors: &[usize]) -> f64 {
    let next = anchors.partition_point(|&a| a < line);
    match anchors.get(next).map(|&a| a - line) {
        Some(0..=500) => 1.0,
        Some(501..=2000) => 0.85,
        Some(2001..=8000) => 0.7,
        Some(_) => 0.55,
        None => 0.35,
    }
}

/// The kept lines where a term of the lexicon or a linter's finding occurs,
/// in order, with what each says on its own; and the lines, kept or not,
/// that end a failing step or job (`anchors`, in order). Only the last
/// `SEARCH_WINDOW` bytes are searched.
fn candidates(
    raw: &str,
    kept: &KeptLines,
    baseline: Option<&Baseline>,
) -> (Vec<Candidate>, Vec<usize>) {
    let bytes = raw.as_bytes();
    let window = tail(raw, SEARCH_WINDOW);
    let window_start = raw.len() - window.len();
    let first_line = memchr::memchr_iter(b'\n', &bytes[..window_start]).count();
    let line_starts: Vec<usize> = std::iter::once(window_start)
        .chain(memchr::memchr_iter(b'\n', window.as_bytes()).map(|i| window_start + i + 1))
        .filter(|&start| start < bytes.len())
        .collect();
    let line_of = |offset: usize| line_starts.partition_point(|&s| s <= window_start + offset) - 1;
    let mut lines: Vec<usize> = TERMS
        .find_iter(window.as_bytes())
        .map(|m| line_of(m.start()))
        .chain(LOCATION_HINT.find_iter(window).map(|m| line_of(m.start())))
        .collect();
    lines.sort_unstable();
    lines.dedup();
    let step_headers = step_headers(window, &line_of);
    let mut text = String::new();
    let mut anchors = Vec::new();
    let mut found = Vec::new();
    for index in lines {
        let (line, start) = (first_line + index, line_starts[index]);
        text.clear();
        normalize::push_normalized_line(raw, start, &mut text);
        let body = text.trim_start();
        let wrapper = WRAPPER.is_match(body);
        // The step's own exit-code line is dropped by the ignore patterns,
        // yet it still tells where the failing step ended.
        if wrapper || body.starts_with("##[error]") {
            anchors.push(line);
        }
        let in_step_header = step_headers
            .iter()
            .any(|&(first, last)| (first..=last).contains(&index));
        if !kept.is_kept(line)
            || in_step_header
            || NOISE.is_match(body)
            || baseline.is_some_and(|b| b.contains(&text))
        {
            continue;
        }
        found.push(Candidate {
            line,
            start,
            stable: stable_text(&text),
            own: own_score(body),
            wrapper,
            retry: RETRY.is_match(body),
            text: text.clone(),
        });
    }
    (found, anchors)
}

/// The bytes at the end of a log that the locator searches: a failure is
/// reported near the end of its job, and a bounded search keeps a large
/// failing log cheap.
const SEARCH_WINDOW: usize = 2 << 20;

/// The line ranges (first, last; indexes in `window`) of GitHub Actions'
/// step headers: `##[group]Run ...` through `##[endgroup]` holds the
/// step's script and inputs (`if-no-files-found: error`), never its output.
fn step_headers(window: &str, line_of: &dyn Fn(usize) -> usize) -> Vec<(usize, usize)> {
    let bytes = window.as_bytes();
    let ends = memmem::Finder::new(b"##[endgroup]");
    let next_group = memmem::Finder::new(b"##[group]");
    memmem::find_iter(bytes, b"##[group]Run ")
        .map(|at| {
            let rest = &bytes[at + 1..];
            // A header without its end is its first line alone.
            let end = match (ends.find(rest), next_group.find(rest)) {
                (Some(end), next) if next.map_or(true, |n| end < n) => at + 1 + end,
                _ => at,
            };
            (line_of(at), line_of(end))
        })
        .collect()
}

/// A program's name before its message: `ld: `, `npm ERR! `, `gcc-12: `.
static PROGRAM: LazyLock<Regex> = LazyLock::new(|| compiled(r"^[\w.+-]{1,24}(?::| \w+[:!]) "));

/// A dotted or `::` test identifier right after a term.
static TEST_ID: LazyLock<Regex> = LazyLock::new(|| compiled(r"^:? \S*\w(?:\.|::)\w\S*"));

/// Finds lines that may be linter findings (which carry no lexicon term)
/// without a regex search of every line: `:digits:digits: `.
static LOCATION_HINT: LazyLock<Regex> = LazyLock::new(|| compiled(r":\d+:\d+: [A-Z]"));

/// What `body` (a normalized line without its indentation) says on its own:
/// its strongest term, more at the start of the line, in capitals or before
/// a colon; more with a compiler's location; less for warnings and counts
/// of nothing. It may pass 1, so that a located message outranks a bare
/// `ERROR` header; the verdict's score is capped at 1.
fn own_score(body: &str) -> f64 {
    let head = body
        .strip_prefix("##[error]")
        .unwrap_or(body)
        .trim_start_matches(|c: char| !c.is_alphanumeric());
    // A compiler's location, or the program's name (`ld: `, `npm error `),
    // before the message is part of the line's start.
    let location = LOCATION.find(head).filter(|m| m.start() <= 1);
    let prefix = location.or_else(|| PROGRAM.find(head));
    let head_at = body.len() - head.len() + prefix.map_or(0, |m| m.end());
    let bytes = body.as_bytes();
    let mut best = 0.0_f64;
    let mut terms = 0;
    for found in TERMS.find_iter(body) {
        let (start, end) = (found.start(), found.end());
        let weight = LEXICON[found.pattern().as_usize()].1;
        let after = bytes.get(end).copied();
        let word_start = start == 0 || !is_word_byte(bytes[start - 1]);
        let word_end = after.map_or(true, |b| !is_word_byte(b) || b == b's');
        if weight == 0.0 || !word_start || !word_end || in_path(body, start, end) {
            continue;
        }
        terms += 1;
        let term = &body[start..end];
        let mut score = weight;
        if term.bytes().all(|b| !b.is_ascii_lowercase()) {
            score += 0.15;
        }
        if after == Some(b':') {
            score += 0.1;
        }
        if start > head_at + 1 {
            score *= 0.6;
        } else if TEST_ID.is_match(&body[end..]) {
            // `FAILED pkg.Class.test`, `Failed a/b.py::test`: a test result.
            score += 0.1;
        }
        best = best.max(score);
    }
    if terms > 1 {
        best += 0.05;
    }
    if best > 0.0 && (location.is_some() || LOCATION.is_match(head)) {
        best += 0.3;
    } else if LINT_FINDING.is_match(head) {
        best = best.max(0.8);
    }
    if WARNING.is_match(body) {
        best *= 0.25;
    }
    if ZERO_COUNT.is_match(body) {
        best *= 0.1;
    }
    best
}

/// Whether `body[start..end]` is part of a path (`src/panic.go`), where a
/// term names a file, not a failure.
fn in_path(body: &str, start: usize, end: usize) -> bool {
    let token_start = body[..start]
        .rfind(char::is_whitespace)
        .map_or(0, |i| i + 1);
    let token_end = body[end..]
        .find(char::is_whitespace)
        .map_or(body.len(), |i| end + i);
    body[token_start..token_end].contains(['/', '\\'])
}

/// The locator's own patterns, fixed in this file.
fn compiled(pattern: &str) -> Regex {
    Regex::new(pattern).expect("the locator's patterns are valid")
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::ignore::RegionTracker;

    fn all_kept() -> KeptLines {
        RegionTracker::default().finish()
    }

    fn located(log: &str) -> Option<(usize, String, f64)> {
        locate(log, &all_kept(), None).map(|l| (l.line + 1, l.stable, l.score))
    }

    const STEP_FAILED: &str = "##[error]Process completed with exit code 1.\n";

    #[test]
    fn stable_text_cuts_paths_numbers_and_hashes() {
        assert_eq!(
            stable_text("src/a.c:12:5: error: 'x' undeclared (first use in 3 places)"),
            "error: 'x' undeclared (first use in places)"
        );
        assert_eq!(
            stable_text("##[error]Job 4f3a9c2e1b failed after 12.5s at 2024-01-01 v1.2.3"),
            "Job failed after at"
        );
        assert_eq!(stable_text("lib.py:3:1: E302 expected"), "E302 expected");
        assert_eq!(stable_text("  "), "");
    }

    #[test]
    fn the_compiler_error_beats_the_tools_that_report_it() {
        let log = format!(
            "##[group]Run make\nbuilding\nwarning: unused variable\n\
             src/main.c:3:9: error: 'y' undeclared\nmake: *** [all] Error 2\n\
             ##[error]make: *** [all] Error 2\n{STEP_FAILED}Post job cleanup.\n"
        );
        let (line, stable, score) = located(&log).unwrap();
        assert_eq!((line, stable.as_str()), (4, "error: 'y' undeclared"));
        assert!(score >= 0.9, "{score}");
    }

    #[test]
    fn no_evidence_of_failure_no_verdict() {
        let green = "Run tests\nerror: this is printed by a passing test\nFAILED? no\nall done\n";
        assert_eq!(located(green), None);
        assert!(!has_failure_evidence(green));
        assert!(has_failure_evidence("x\nDone. Your build exited with 1.\n"));
        assert!(has_failure_evidence("x\n##[error]boom\n"));
        assert!(has_failure_evidence("tar: Exiting with failure status\n"));
        let long_ago = format!("##[error]boom\n{}", "ok\n".repeat(SEARCH_WINDOW));
        assert!(!has_failure_evidence(&long_ago));
        assert_eq!(tail("ab\ncd\nef", 4), "cd\nef");
        assert_eq!(tail("ab", 10), "ab");
        assert!(!has_failure_evidence(
            "Process completed with exit code 0.\n"
        ));
    }

    #[test]
    fn noise_warnings_retries_and_zero_counts_weigh_less() {
        let log = format!(
            "##[group]Run fetch\nError: connection reset\nRetrying, attempt 2\nfetched\n\
             WARNING: cache is stale\nTests run: 3, Failures: 0, Errors: 0\n\
             Error: the schema file is missing\n{STEP_FAILED}"
        );
        assert_eq!(located(&log).unwrap().0, 7);
        let repeated: String = (0..6).map(|i| format!("{i} error: flaky {i}\n")).collect();
        let log = format!("{repeated}error: the one\n{STEP_FAILED}");
        assert_eq!(located(&log).unwrap().0, 7);
    }

    #[test]
    fn lines_after_the_failing_step_and_ignored_lines_weigh_less_or_nothing() {
        let log = format!("fatal: real cause\n{STEP_FAILED}error: in cleanup\n");
        assert_eq!(located(&log).unwrap().0, 1);
        let mut tracker = RegionTracker::default();
        assert!(!tracker.feed(0, true, None, |_| false));
        let kept = tracker.finish();
        let found = locate(
            &format!("fatal: dropped\nerror: kept\n{STEP_FAILED}"),
            &kept,
            None,
        );
        assert_eq!(found.map(|l| l.line), Some(1));
    }

    #[test]
    fn a_steps_script_and_inputs_are_not_its_output() {
        let log = format!(
            "##[group]Run upload\nwith:\n  if-no-files-found: error\n##[endgroup]\n\
             upload: cannot reach the store\n{STEP_FAILED}"
        );
        assert_eq!(located(&log).unwrap().0, 5);
    }

    #[test]
    fn linter_findings_are_located_by_their_shape() {
        let log = format!("lint\nmod.py:13:1: F401 'os' imported but unused\n{STEP_FAILED}");
        assert_eq!(located(&log).unwrap().0, 2);
        let frame = format!("\t/go/src/runtime/panic.go:838 +0x207\n{STEP_FAILED}");
        assert_ne!(located(&frame).map(|(line, ..)| line), Some(1));
    }

    #[test]
    fn lines_of_the_passing_run_are_passed_over() {
        let log = format!(
            "2024-01-01T00:00:00.0000000Z error: known noise 123\nerror: the new one\n{STEP_FAILED}"
        );
        let baseline = Baseline::new("2023-05-05T01:02:03.0000000Z error: known noise 456\n");
        assert!(baseline.contains("error: known noise 789"));
        assert!(!baseline.contains("error: the new one"));
        let found = locate(&log, &all_kept(), Some(&baseline)).unwrap();
        assert_eq!(found.line, 1);
        let without = locate(&log, &all_kept(), None).unwrap();
        assert_eq!(without.line, 0);
    }
}
