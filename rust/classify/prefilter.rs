//! Required literals: for each pattern, a few strings one of which every match
//! must contain. Searching all of them at once with SIMD (Teddy, through
//! `aho-corasick`) finds the few lines worth a regex far faster than any
//! automaton that looks at every byte.

use aho_corasick::{AhoCorasick, MatchKind};
use regex_syntax::hir::literal::{ExtractKind, Extractor, Seq};
use regex_syntax::hir::{Hir, HirKind};

use super::confine::within_line;

/// Shorter literals occur in too many lines to narrow anything down.
pub const MIN_LITERAL_LEN: usize = 3;

/// Past this length a literal is rare enough; longer ones are not preferred.
const SELECTIVE_LEN: usize = 6;

/// Teddy, the SIMD searcher, takes at most this many literals at once.
const SEARCHER_CAPACITY: usize = 64;

/// Teddy with many literals reports so many false candidates on log text that
/// several passes with fewer literals each are faster (measured: 4 x 16
/// literals take about half the time of 1 x 64). Literals are sorted by
/// length, so the longer ones share batches and their fingerprints.
const BATCH_LEN: usize = 16;

/// The literals the engine searches for `pattern` (as parsed), matched line by
/// line; `None` when it has none, so that it is tried on every line by the
/// residual automaton. The lint asks this too, so that it warns of exactly
/// the patterns the engine finds slowly.
pub fn line_literals(pattern: &Hir) -> Option<Vec<Vec<u8>>> {
    required_literals(&within_line(pattern.clone()))
}

/// A set of literals, at least `MIN_LITERAL_LEN` bytes each, one of which
/// every match of `hir` contains; `None` when there is no such set.
fn required_literals(hir: &Hir) -> Option<Vec<Vec<u8>>> {
    let mut options = Vec::new();
    collect_options(hir, &mut options);
    // Among sets that are selective enough, the first found wins: literals
    // near the start of a pattern tell its lines apart best (`FAILED ` rather
    // than `::test_`, which every test id contains).
    options.into_iter().min_by_key(|set| {
        let shortest = set.iter().map(Vec::len).min().unwrap_or(usize::MAX);
        std::cmp::Reverse(shortest.min(SELECTIVE_LEN))
    })
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
    /// A searcher for the union of `sets`. The union is reduced first: a
    /// literal containing another one is redundant, and while there are more
    /// than fit one SIMD searcher, the two sharing the longest prefix are
    /// replaced by that prefix (a prefix of a required literal is required
    /// too), so that what is lost in selectivity is least.
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

/// Shortens literals until the set fits one SIMD searcher: at each length,
/// from the longest down, literals sharing a prefix of that length are
/// replaced by the prefix (a prefix of a required literal is required too).
/// Merging the longest shared prefixes first loses the least selectivity;
/// doing it a length at a time keeps this linear in the number of lengths,
/// which matters for case-insensitive patterns with hundreds of variants.
fn reduced(literals: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    let mut literals = minimal(literals);
    let longest = literals.iter().map(Vec::len).max().unwrap_or(0);
    for len in (MIN_LITERAL_LEN..longest).rev() {
        if literals.len() <= SEARCHER_CAPACITY {
            break;
        }
        literals = merged_at(literals, len);
    }
    minimal(literals)
}

/// Replaces every group of literals sharing a prefix of `len` bytes by that
/// prefix.
fn merged_at(mut literals: Vec<Vec<u8>>, len: usize) -> Vec<Vec<u8>> {
    literals.sort();
    let mut out: Vec<Vec<u8>> = Vec::with_capacity(literals.len());
    for lit in literals {
        match out.last_mut() {
            Some(last) if last.len() >= len && lit.len() >= len && last[..len] == lit[..len] => {
                last.truncate(len);
            }
            _ => out.push(lit),
        }
    }
    out
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

    #[test]
    fn literals_sharing_prefixes_are_merged_to_fit_one_searcher() {
        let sets = (0..200).map(|i| vec![format!("{:03}-literal-{i}", i % 50).into_bytes()]);
        let search = LiteralSearch::new(sets);
        assert_eq!(search.batch_count(), 50_usize.div_ceil(BATCH_LEN));
        assert!(is_match(&search, b"xx 042-literal-92 xx"));
        assert!(!is_match(&search, b"xx 42-literal xx"));
        let kept = reduced(
            (0..70)
                .map(|i| format!("shared prefix {i:02}").into_bytes())
                .collect(),
        );
        assert!(kept.len() <= SEARCHER_CAPACITY);
        assert!(kept.iter().all(|lit| lit.len() >= b"shared prefix 0".len()));
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
