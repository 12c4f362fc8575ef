//! Required literals: for each pattern, a few strings one of which every match
//! must contain. Searching all of them at once with SIMD (Teddy, through
//! `aho-corasick`) finds the few lines worth a regex far faster than any
//! automaton that looks at every byte.
//!
//! Both the choice of each pattern's literals and their reduction to what a
//! few SIMD passes can take are guided by how often a string is expected in
//! log text (`expected_frequency`): a candidate line costs a normalization
//! and a regex or two, so the literals that make the fewest lines candidates
//! win.

use std::collections::{BinaryHeap, HashMap};
use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, MatchKind};
use regex_syntax::hir::literal::{ExtractKind, Extractor, Seq};
use regex_syntax::hir::{Hir, HirKind};

use super::confine::within_line;

/// Shorter literals occur in too many lines to narrow anything down.
pub const MIN_LITERAL_LEN: usize = 3;

/// Teddy with many literals reports more false candidates per pass than
/// several passes with fewer literals each cost. Measured with anchors chosen
/// for rarity, on a 100 MB log: batches of 16 beat 8, 12 and 32 with the
/// default ruleset (8 make twice as many passes; 32 verify far more false
/// hits), and are within noise of the best with the upstream rule file.
/// Literals are sorted by length, so the longer ones share batches and their
/// fingerprints.
const BATCH_LEN: usize = 16;

/// Anchors replacing several literals are at most this long: longer strings
/// are rare enough in log text, and Teddy fingerprints only their first bytes.
const MAX_ANCHOR_LEN: usize = 8;

/// What the search costs, in expected candidate lines per byte of log: a
/// candidate line costs a normalization and a few regexes (about 0.8 us,
/// measured), and each batch of `BATCH_LEN` literals one SIMD pass (about
/// 0.1 ns a byte). So a literal's place in a batch is worth as much as this
/// many candidates per byte: more literals than that in one set, or a merge
/// of literals that makes more candidates than it saves places, cost time.
const LITERAL_SLOT: f64 = 0.1 / 800.0 / BATCH_LEN as f64;

/// How much more often strings of 0, 1, ... bytes occur in log text than the
/// product of their bytes' frequencies says: short strings are parts of
/// words and markup, whose bytes go together.
const SHORT_STRING_EXCESS: [f64; 6] = [1.0, 1.0, 1.0, 40.0, 10.0, 3.0];

/// The same for strings of lowercase letters and spaces only, which are
/// mostly pieces of English (`tion`, ` comp`, ` last `): by far the most
/// common strings of a log, and the worst literals. Measured on real CI
/// logs, fragments of 4 to 6 bytes occur some ten thousand times more often
/// than their bytes' product, and it takes 8 bytes to fall under a thousand.
const WORD_EXCESS: [f64; 9] = [
    1.0, 1.0, 1.0, 10_000.0, 10_000.0, 10_000.0, 5_000.0, 1_000.0, 300.0,
];

/// The literals the engine searches for `pattern` (as parsed), matched line by
/// line; `None` when it has none, so that it is tried on every line by the
/// residual automaton. The lint asks this too, so that it warns of exactly
/// the patterns the engine finds slowly.
pub fn line_literals(pattern: &Hir) -> Option<Vec<Vec<u8>>> {
    required_literals(&within_line(pattern.clone()))
}

/// A set of literals, at least `MIN_LITERAL_LEN` bytes each, one of which
/// every match of `hir` contains; `None` when there is no such set.
///
/// Literals near the start of a pattern tell its lines apart best: a pattern
/// is mostly a marker followed by the shape of what varies, and the shape's
/// literals (`::test_` of a test id, `.py` of a path) can fill whole logs
/// where no model of text expects them. So the first set found, nearest the
/// start, wins if it is selective (see `is_selective`); otherwise the one
/// expected to make the fewest lines candidates.
fn required_literals(hir: &Hir) -> Option<Vec<Vec<u8>>> {
    let mut options = Vec::new();
    collect_options(hir, &mut options);
    if let Some(first) = options.iter().position(|set| is_selective(set)) {
        return Some(options.swap_remove(first));
    }
    options
        .into_iter()
        .map(|set| (set_cost(&set), set))
        .min_by(|(a, _), (b, _)| a.total_cmp(b))
        .map(|(_, set)| set)
}

/// Literals this long, and expected less often than a batch place is worth,
/// are rare enough that a later set cannot be much better.
const SELECTIVE_LEN: usize = 6;

/// A selective set is also small: a case-insensitive literal's hundreds of
/// variants are not, however long each is.
const SELECTIVE_SET_LEN: usize = 8;

fn is_selective(set: &[Vec<u8>]) -> bool {
    set.len() <= SELECTIVE_SET_LEN
        && set.iter().all(|literal| {
            literal.len() >= SELECTIVE_LEN && expected_frequency(literal) <= LITERAL_SLOT
        })
}

fn set_cost(set: &[Vec<u8>]) -> f64 {
    set.iter()
        .map(|literal| expected_frequency(literal) + LITERAL_SLOT)
        .sum()
}

/// How often `literal` is expected to start at a given byte of CI log text:
/// the product of its bytes' frequencies. Bytes are not independent in real
/// text, but the ranking is what matters: `e: ` and `.py` are common, `.kt:`
/// and `[ERROR]` rare, and a longer string is rarer than its parts.
pub(crate) fn expected_frequency(literal: &[u8]) -> f64 {
    // A run of one punctuation byte (`========`, ` --------`) is a separator
    // line's markup: as common as the byte itself, however long.
    let unspaced = literal.trim_ascii();
    if let [first, rest @ ..] = unspaced {
        if !first.is_ascii_alphanumeric() && rest.iter().all(|byte| byte == first) {
            return BYTE_FREQUENCY[usize::from(*first)];
        }
    }
    let wordish = literal
        .iter()
        .all(|&byte| byte.is_ascii_lowercase() || byte == b' ');
    let excess = if wordish {
        WORD_EXCESS.get(literal.len())
    } else {
        SHORT_STRING_EXCESS.get(literal.len())
    };
    let excess = excess.copied().unwrap_or(1.0);
    excess
        * literal
            .iter()
            .map(|&byte| BYTE_FREQUENCY[usize::from(byte)])
            .product::<f64>()
}

/// `byte_frequency` of every byte, looked up: the cost model is evaluated
/// for every part of every literal when a ruleset is compiled.
static BYTE_FREQUENCY: LazyLock<[f64; 256]> =
    LazyLock::new(|| std::array::from_fn(|byte| byte_frequency(byte as u8)));

/// A byte's share of CI log text, roughly: English letter frequencies for
/// lowercase, capitals far rarer, digits and path punctuation common.
fn byte_frequency(byte: u8) -> f64 {
    match byte {
        b' ' => 0.14,
        b'e' => 0.065,
        b't' => 0.048,
        b'a' => 0.042,
        b'o' | b'i' => 0.040,
        b'n' => 0.038,
        b's' => 0.036,
        b'r' => 0.035,
        b'l' => 0.024,
        b'd' => 0.022,
        b'h' | b'c' => 0.020,
        b'u' | b'm' => 0.016,
        b'p' => 0.014,
        b'f' | b'g' => 0.012,
        b'w' | b'y' | b'b' => 0.008,
        b'v' => 0.006,
        b'k' => 0.005,
        b'x' => 0.003,
        b'j' | b'q' | b'z' => 0.001,
        b'A'..=b'Z' => byte_frequency(byte.to_ascii_lowercase()) * 0.15,
        b'0'..=b'9' => 0.012,
        b'.' => 0.02,
        b'/' | b'-' => 0.015,
        b'_' | b':' => 0.012,
        b'=' | b',' => 0.006,
        b'\'' | b'"' | b'(' | b')' | b'[' | b']' => 0.004,
        b'#' | b'*' | b'>' | b'+' | b'{' | b'}' | b'\\' | b';' | b'\t' => 0.002,
        _ => 0.0005,
    }
}

/// Every usable literal set of `hir`: the prefixes of each suffix of a
/// concatenation (a match of the whole contains a match of each suffix), the
/// sets of its parts, and the union of an alternation's branch sets.
fn collect_options(hir: &Hir, options: &mut Vec<Vec<Vec<u8>>>) {
    match hir.kind() {
        HirKind::Capture(capture) => collect_options(&capture.sub, options),
        HirKind::Repetition(rep) if rep.min >= 1 => collect_options(&rep.sub, options),
        HirKind::Concat(parts) => {
            for start in 0..parts.len() {
                options.extend(usable(prefixes(&Hir::concat(parts[start..].to_vec()))));
                collect_options(&parts[start], options);
            }
        }
        HirKind::Alternation(branches) => {
            let union: Option<Vec<Vec<u8>>> =
                branches
                    .iter()
                    .map(required_literals)
                    .try_fold(Vec::new(), |mut all, set| {
                        all.extend(set?);
                        Some(all)
                    });
            options.extend(union);
            options.extend(usable(prefixes(hir)));
        }
        _ => options.extend(usable(prefixes(hir))),
    }
}

fn prefixes(hir: &Hir) -> Seq {
    Extractor::new().kind(ExtractKind::Prefix).extract(hir)
}

/// The literals of a finite sequence when all are long enough. An empty
/// sequence means the pattern never matches: it needs no literal at all.
fn usable(seq: Seq) -> Option<Vec<Vec<u8>>> {
    let literals = seq.literals()?;
    literals
        .iter()
        .all(|lit| lit.len() >= MIN_LITERAL_LEN)
        .then(|| literals.iter().map(|lit| lit.as_bytes().to_vec()).collect())
}

/// Finds, in one pass per batch of `BATCH_LEN` literals, where any of
/// the literals occurs.
#[derive(Debug)]
pub(crate) struct LiteralSearch {
    batches: Vec<AhoCorasick>,
}

impl LiteralSearch {
    /// A searcher for the union of `sets`, reduced first to what fits one
    /// SIMD searcher (see `reduced`).
    pub(crate) fn new(sets: impl IntoIterator<Item = Vec<Vec<u8>>>) -> Self {
        let literals = reduced(sets.into_iter().flatten().collect());
        let batches = literals
            .chunks(BATCH_LEN)
            .map(|batch| {
                AhoCorasick::builder()
                    .match_kind(MatchKind::LeftmostFirst)
                    .build(batch)
                    .expect("a few dozen short literals always fit an automaton")
            })
            .collect();
        Self { batches }
    }

    /// How many independent passes a search makes.
    pub(crate) fn batch_count(&self) -> usize {
        self.batches.len()
    }

    /// Start of the first occurrence at or after `at` of a literal of batch
    /// `batch`.
    pub(crate) fn find_in_batch(&self, batch: usize, haystack: &[u8], at: usize) -> Option<usize> {
        let input = aho_corasick::Input::new(haystack).range(at..);
        self.batches[batch].find(input).map(|m| m.start())
    }
}

/// The literals as the anchors the SIMD passes search for: while some
/// shorter string can replace the anchors containing it for less than their
/// places in the batches cost (`LITERAL_SLOT`), the one that saves the most
/// does (a part of a required literal is required too). So a
/// case-insensitive literal's hundreds of variants give way to the few cases
/// of a short window, literals sharing a rare part (`Caused by: `) share one
/// anchor, and common parts (`ing`, `e: `) are never chosen.
fn reduced(literals: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    let literals = minimal(literals);
    let mut cover = AnchorCover::new(&literals);
    while cover.merge_best() {}
    minimal(cover.anchors())
}

/// The state of `reduced`: the anchors so far, and for every string that
/// could replace some of them, which ones contain it.
struct AnchorCover<'a> {
    anchors: Vec<&'a [u8]>,
    /// Each anchor's `expected_frequency` plus its slot, computed once:
    /// every saving considered sums them.
    costs: Vec<f64>,
    is_alive: Vec<bool>,
    containing: HashMap<&'a [u8], Vec<usize>>,
    /// Candidate strings by their last computed saving, largest first; a
    /// saving goes stale as anchors merge, and is computed again when the
    /// candidate comes up.
    queue: BinaryHeap<Candidate<'a>>,
}

struct Candidate<'a> {
    saving: f64,
    part: &'a [u8],
}

impl PartialEq for Candidate<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}
impl Eq for Candidate<'_> {}
impl PartialOrd for Candidate<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Candidate<'_> {
    /// Ties go to the longer, then the smaller string, so that the result does
    /// not depend on hash order.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.saving
            .total_cmp(&other.saving)
            .then_with(|| self.part.len().cmp(&other.part.len()))
            .then_with(|| other.part.cmp(self.part))
    }
}

impl<'a> AnchorCover<'a> {
    fn new(literals: &'a [Vec<u8>]) -> Self {
        let mut cover = Self {
            anchors: Vec::with_capacity(literals.len()),
            costs: Vec::with_capacity(literals.len()),
            is_alive: Vec::with_capacity(literals.len()),
            containing: HashMap::new(),
            queue: BinaryHeap::new(),
        };
        for literal in literals {
            cover.add(literal);
        }
        let parts: Vec<&[u8]> = cover.containing.keys().copied().collect();
        for part in parts {
            cover.enqueue(part);
        }
        cover
    }

    /// Adds `anchor`, listing it under each of its parts that could replace it.
    fn add(&mut self, anchor: &'a [u8]) {
        let id = self.anchors.len();
        self.anchors.push(anchor);
        self.costs.push(expected_frequency(anchor) + LITERAL_SLOT);
        self.is_alive.push(true);
        for len in MIN_LITERAL_LEN..=anchor.len().min(MAX_ANCHOR_LEN) {
            for part in anchor.windows(len) {
                let ids = self.containing.entry(part).or_default();
                if ids.last() != Some(&id) {
                    ids.push(id);
                }
            }
        }
    }

    /// The live anchors containing `part`, and what replacing them by it
    /// saves; `None` when it saves nothing.
    fn saving(&self, part: &[u8]) -> Option<(f64, Vec<usize>)> {
        let ids: Vec<usize> = self.containing[part]
            .iter()
            .copied()
            .filter(|&id| self.is_alive[id])
            .collect();
        let replaced: f64 = ids.iter().map(|&id| self.costs[id]).sum();
        let saving = replaced - expected_frequency(part) - LITERAL_SLOT;
        (ids.len() > 1 && saving > 0.0).then_some((saving, ids))
    }

    fn enqueue(&mut self, part: &'a [u8]) {
        if let Some((saving, _)) = self.saving(part) {
            self.queue.push(Candidate { saving, part });
        }
    }

    /// Makes the merge that saves the most; `false` when none saves anything.
    fn merge_best(&mut self) -> bool {
        while let Some(Candidate { part, .. }) = self.queue.pop() {
            let Some((saving, ids)) = self.saving(part) else {
                continue;
            };
            if self.queue.peek().is_some_and(|next| next.saving > saving) {
                self.queue.push(Candidate { saving, part });
                continue;
            }
            for id in ids {
                self.is_alive[id] = false;
            }
            self.add(part);
            // The new anchor may let a part of it replace more than before.
            for len in MIN_LITERAL_LEN..part.len() {
                for window in part.windows(len) {
                    self.enqueue(window);
                }
            }
            return true;
        }
        false
    }

    fn anchors(&self) -> Vec<Vec<u8>> {
        self.anchors
            .iter()
            .zip(&self.is_alive)
            .filter(|(_, &alive)| alive)
            .map(|(anchor, _)| anchor.to_vec())
            .collect()
    }
}

/// The literals left after dropping duplicates and every literal that
/// contains another (a line containing it contains the shorter one too).
/// One automaton over all of them finds, for each, whether another occurs in
/// it, in time linear in their total length: case-insensitive patterns bring
/// hundreds of variants, too many to compare pairwise at every load.
fn minimal(mut literals: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    literals.sort_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
    literals.dedup();
    let Ok(all) = AhoCorasick::new(&literals) else {
        return literals;
    };
    let contains_another = |(index, lit): &(usize, &Vec<u8>)| {
        all.find_overlapping_iter(lit.as_slice())
            .any(|m| m.pattern().as_usize() != *index)
    };
    let kept: Vec<Vec<u8>> = literals
        .iter()
        .enumerate()
        .filter(|entry| !contains_another(entry))
        .map(|(_, lit)| lit.clone())
        .collect();
    kept
}

#[cfg(test)]
mod tests {
    use proptest::collection::vec;
    use proptest::prelude::*;

    use super::*;

    fn required(pattern: &str) -> Option<Vec<String>> {
        let hir = regex_syntax::Parser::new().parse(pattern).unwrap();
        required_literals(&hir).map(|set| {
            let mut set: Vec<String> = set
                .into_iter()
                .map(|lit| String::from_utf8(lit).unwrap())
                .collect();
            set.sort();
            set
        })
    }

    fn is_match(search: &LiteralSearch, haystack: &[u8]) -> bool {
        (0..search.batch_count()).any(|batch| search.find_in_batch(batch, haystack, 0).is_some())
    }

    #[test]
    fn a_literal_after_an_unbounded_prefix_is_found() {
        assert_eq!(
            required(r"^.*\(\d+\): error C\d+:.*"),
            Some(vec!["): error C".to_owned()])
        );
        assert_eq!(
            required(r"^\s*(test.*) failed - num_retries_left:"),
            Some(vec![" failed - num_retries_left:".to_owned()])
        );
    }

    #[test]
    fn a_selective_literal_at_the_start_beats_the_shape_after_it() {
        // `::check_` looks rarer to a byte model, but a log listing test ids
        // has it on every line.
        assert_eq!(
            required(r"^(?:BROKEN|UNSTABLE) (\S+\.rs::\S+::check_\S+)"),
            Some(vec!["BROKEN ".to_owned(), "UNSTABLE ".to_owned()])
        );
        // A start too short to be selective gives way to a rarer literal.
        assert_eq!(
            required(r"^ok (\S+) is not a known [Ww]orkspace member"),
            Some(vec![
                " is not a known Workspace member".to_owned(),
                " is not a known workspace member".to_owned()
            ])
        );
    }

    #[test]
    fn alternatives_each_contribute_a_literal() {
        assert_eq!(
            required(r"^(\w+) +(fail_accuracy|infra_error|(?:FAIL|IMPROVED): +[a-z_]+)"),
            Some(
                ["FAIL: ", "IMPROVED: ", "fail_accuracy", "infra_error"]
                    .map(str::to_owned)
                    .to_vec()
            )
        );
        assert_eq!(
            required(r"\d+bar|quux"),
            Some(vec!["bar".to_owned(), "quux".to_owned()])
        );
    }

    #[test]
    fn repetitions_that_may_be_absent_give_no_literal() {
        assert_eq!(required(r"^\d+ (?:errors)?$"), None);
        assert_eq!(required(r"(?:abcd)+x"), Some(vec!["abcd".to_owned()]));
        assert_eq!(required(r"ab|abcdef"), None);
        assert_eq!(required(r"^.*$"), None);
    }

    #[test]
    fn case_insensitive_literals_cover_every_case() {
        assert_eq!(required(r"(?i)fail").map(|set| set.len()), Some(16));
    }

    #[test]
    fn redundant_literals_are_dropped() {
        let got = minimal(vec![
            b"RuntimeError: PR".to_vec(),
            b"Error".to_vec(),
            b"xyz".to_vec(),
            b"xyz".to_vec(),
        ]);
        assert_eq!(got, [b"xyz".to_vec(), b"Error".to_vec()]);
    }

    fn cost(literals: &[Vec<u8>]) -> f64 {
        set_cost(literals)
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack
            .windows(needle.len())
            .any(|window| window == needle)
    }

    #[test]
    fn literals_sharing_a_rare_part_share_one_anchor() {
        let literals: Vec<Vec<u8>> = ["Caused by: java", "Caused by: kotlin", "Caused by: org"]
            .map(|lit| lit.as_bytes().to_vec())
            .to_vec();
        let anchors = reduced(literals);
        assert_eq!(anchors.len(), 1);
        assert!(contains(b"Caused by: ", &anchors[0]), "{anchors:?}");
    }

    #[test]
    fn a_common_part_is_never_an_anchor() {
        // Each pair shares an English fragment, far more common in a log than
        // the literals themselves: a merge there would make most lines candidates.
        let literals: Vec<Vec<u8>> = ["Missing string", "Failing XYZ", "nothing QRS"]
            .map(|lit| lit.as_bytes().to_vec())
            .to_vec();
        let mut anchors = reduced(literals.clone());
        anchors.sort();
        let mut expected = literals;
        expected.sort();
        assert_eq!(anchors, expected);
    }

    #[test]
    fn case_insensitive_variants_share_anchors() {
        let hir = regex_syntax::Parser::new()
            .parse("(?i)rate limit exceeded")
            .unwrap();
        let literals = required_literals(&hir).unwrap();
        assert!(reduced(literals.clone()).len() < literals.len());
        let search = LiteralSearch::new([literals.clone()]);
        for literal in &literals {
            assert!(is_match(&search, literal));
        }
    }

    proptest! {
        /// A line holding any literal holds an anchor: the prefilter never
        /// misses a line that a pattern could match.
        #[test]
        fn every_literal_is_still_found(
            literals in vec("[a-cA-C :_.]{3,12}", 1..60),
            noise in "[x ]{0,8}",
        ) {
            let literals: Vec<Vec<u8>> = literals.into_iter().map(String::into_bytes).collect();
            let search = LiteralSearch::new(literals.iter().map(|lit| vec![lit.clone()]));
            for literal in &literals {
                let haystack = [noise.as_bytes(), literal, noise.as_bytes()].concat();
                prop_assert!(is_match(&search, &haystack), "{:?} missed", literal);
            }
        }

        /// Anchors are parts of the literals (so each is required by some
        /// pattern), and replacing literals by them never raises the expected
        /// cost of the search.
        #[test]
        fn anchors_are_parts_that_cost_no_more(
            literals in vec("[a-eA-E :_.]{3,12}", 1..60),
        ) {
            let literals: Vec<Vec<u8>> = literals.into_iter().map(String::into_bytes).collect();
            let anchors = reduced(literals.clone());
            for anchor in &anchors {
                prop_assert!(anchor.len() >= MIN_LITERAL_LEN);
                prop_assert!(literals.iter().any(|lit| contains(lit, anchor)), "{:?}", anchor);
            }
            prop_assert!(cost(&anchors) <= cost(&minimal(literals)) * (1.0 + 1e-9));
        }
    }

    #[test]
    fn literals_that_cannot_be_shortened_enough_take_several_batches() {
        let sets = (0..300).map(|i| vec![format!("{i:03}").into_bytes()]);
        let search = LiteralSearch::new(sets);
        assert_eq!(search.batch_count(), 300_usize.div_ceil(BATCH_LEN));
        let haystack = b"........ 217 ....";
        let found: Vec<usize> = (0..search.batch_count())
            .filter_map(|batch| search.find_in_batch(batch, haystack, 0))
            .collect();
        assert_eq!(found, [9]);
    }
}
