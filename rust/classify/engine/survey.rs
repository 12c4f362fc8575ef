//! A ruleset over a corpus: many logs classified at once, one log per thread
//! on every core, each with its verdict, every rule that matches it at all
//! (from the same scan), the lines around the verdict and, when asked, the
//! time each rule's own regex took. A child of `engine`, so that it reads the
//! scan and the automata as they are instead of rebuilding them.

use std::borrow::Cow;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::{CompiledRuleSet, Options};
use crate::classify::normalize;
use crate::classify::ruleset::Pattern;
use crate::classify::verdict::Verdict;
use crate::error::Result;

/// How a survey runs.
#[derive(Debug, Clone, Copy)]
pub struct SurveyOptions {
    pub context_depth: usize,
    /// Logs classified at once, one per thread.
    pub threads: usize,
    /// Lines before and after the verdict's line that a survey keeps.
    pub before: usize,
    pub after: usize,
}

/// What a survey found in one log.
#[derive(Debug, Clone, PartialEq)]
pub struct LogSurvey {
    pub verdict: Option<Verdict>,
    /// Indexes of the rules that match a kept line, in priority order.
    pub matched: Vec<usize>,
    /// The lines around the verdict's, normalized, with their 1-based numbers.
    pub window: Vec<(usize, String)>,
    /// Bytes of text (decompressed).
    pub bytes: usize,
    /// Time the log took with this ruleset, decompression included.
    pub seconds: f64,
    /// With `profile`: seconds each rule's regex ran, in priority order.
    pub rule_seconds: Option<Vec<f64>>,
}

/// What a survey gives for one log and one ruleset: its findings, or why
/// the log could not be read (the same for every ruleset).
pub type Surveyed = std::result::Result<LogSurvey, String>;

/// Surveys `count` logs with each of `rulesets`, the `i`th log read by
/// `load(i)` (which decompresses it) once for all of them, on
/// `options.threads` threads. One list per ruleset, one result per log, in
/// order: a log that cannot be read is its own error and stops nothing
/// else. The logs whose `profile` entry is true also time each rule's regex
/// on the lines it is tried on (a second pass over those lines, so a caller
/// samples it).
pub fn survey<'a>(
    rulesets: &[&CompiledRuleSet],
    count: usize,
    load: impl Fn(usize) -> Result<Cow<'a, str>> + Sync,
    profile: &[bool],
    options: SurveyOptions,
) -> Vec<Vec<Surveyed>> {
    let next = AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        loop {
            let index = next.fetch_add(1, Ordering::Relaxed);
            if index >= count {
                return done;
            }
            let started = Instant::now();
            let profiled = profile.get(index).copied().unwrap_or(false);
            let surveyed: Vec<Surveyed> = match load(index) {
                Ok(text) => {
                    let decoded = started.elapsed();
                    rulesets
                        .iter()
                        .map(|rules| Ok(survey_one(rules, &text, options, profiled, decoded)))
                        .collect()
                }
                Err(err) => vec![Err(err.to_string()); rulesets.len()],
            };
            done.push((index, surveyed));
        }
    };
    let threads = options.threads.clamp(1, count.max(1));
    let mut results: Vec<(usize, Vec<Surveyed>)> = if threads == 1 {
        work()
    } else {
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads).map(|_| scope.spawn(work)).collect();
            workers
                .into_iter()
                .flat_map(|worker| worker.join().expect("a survey thread panicked"))
                .collect()
        })
    };
    results.sort_unstable_by_key(|(index, _)| *index);
    let mut by_ruleset: Vec<Vec<Surveyed>> = rulesets.iter().map(|_| Vec::new()).collect();
    for (_, per_ruleset) in results {
        for (found, surveyed) in by_ruleset.iter_mut().zip(per_ruleset) {
            found.push(surveyed);
        }
    }
    by_ruleset
}

fn survey_one(
    rules: &CompiledRuleSet,
    text: &str,
    options: SurveyOptions,
    profile: bool,
    decoded: Duration,
) -> LogSurvey {
    let started = Instant::now();
    // Each log on one thread: the logs themselves keep every core busy.
    let classify = Options {
        context_depth: options.context_depth,
        threads: 1,
        baseline: None,
    };
    let scan = rules.scan(text, 1);
    let verdict = rules.decide(text, &scan, classify);
    let matched = scan
        .matched
        .iter()
        .enumerate()
        .filter_map(|(rule, line)| line.map(|_| rule))
        .collect();
    let window = verdict.as_ref().map_or_else(Vec::new, |v| {
        window(text, v.line_num, options.before, options.after)
    });
    let rule_seconds = profile.then(|| rule_seconds(rules, text));
    LogSurvey {
        verdict,
        matched,
        window,
        bytes: text.len(),
        seconds: (decoded + started.elapsed()).as_secs_f64(),
        rule_seconds,
    }
}

/// Lines `line_num - before` through `line_num + after` (1-based) of `text`,
/// normalized.
fn window(text: &str, line_num: usize, before: usize, after: usize) -> Vec<(usize, String)> {
    let first = line_num.saturating_sub(before).max(1);
    text.split_terminator('\n')
        .enumerate()
        .skip(first - 1)
        .take(line_num + after + 1 - first)
        .map(|(index, line)| {
            let mut normalized = String::new();
            normalize::push_normalized_line(line, 0, &mut normalized);
            (index + 1, normalized)
        })
        .collect()
}

/// Seconds each rule's own regex runs on the candidate lines it is tried on:
/// the lines that hold one of its required literals (every candidate line
/// for a rule without any), as the scan tries them. The shared literal
/// search that finds candidate lines is nobody's in particular.
fn rule_seconds(rules: &CompiledRuleSet, raw: &str) -> Vec<f64> {
    let scanner = &rules.scanner;
    let per_line = &scanner.per_line;
    let patterns: Vec<&Pattern> = rules.ruleset.patterns().map(|(p, _)| p).collect();
    let mut spent = vec![Duration::ZERO; patterns.len()];
    let mut tried = vec![false; patterns.len()];
    let mut text = String::new();
    for line in scanner.candidate_lines(raw, 1) {
        text.clear();
        normalize::push_normalized_line(raw, line.start, &mut text);
        tried.fill(false);
        let with_literal = per_line
            .literals
            .iter()
            .flat_map(|literals| literals.find_overlapping_iter(text.as_str()))
            .flat_map(|found| per_line.owners[found.pattern().as_usize()].iter().copied());
        for pattern in per_line
            .without_literals
            .iter()
            .copied()
            .chain(with_literal)
        {
            if !std::mem::replace(&mut tried[pattern], true) {
                let timer = Instant::now();
                std::hint::black_box(patterns[pattern].regex().is_match(&text));
                spent[pattern] += timer.elapsed();
            }
        }
    }
    spent[scanner.layout.first_rule()..]
        .iter()
        .map(Duration::as_secs_f64)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: &str = "[[rule]]\nname = 'boom'\npattern = '^boom (\\w+)'\n\
                         [[rule]]\nname = 'error'\npattern = 'error'\n";

    fn options(threads: usize) -> SurveyOptions {
        SurveyOptions {
            context_depth: 12,
            threads,
            before: 1,
            after: 1,
        }
    }

    #[test]
    fn every_log_gets_the_classify_verdict_and_every_rule_that_matches() {
        let rules = CompiledRuleSet::from_toml(RULES).unwrap();
        let logs = ["a\nerror x\nboom b\nz\n", "nothing\n", "error\n"];
        let load = |i: usize| Ok(Cow::Borrowed(logs[i]));
        for threads in [1, 2, 5] {
            let found = survey(&[&rules, &rules], logs.len(), load, &[], options(threads));
            assert_eq!(found.len(), 2);
            let got: Vec<_> = found[1].iter().map(|r| r.as_ref().unwrap()).collect();
            for (log, surveyed) in logs.iter().zip(&got) {
                assert_eq!(
                    surveyed.verdict,
                    rules.classify(log, Options::default()),
                    "{threads}"
                );
                assert_eq!(surveyed.bytes, log.len());
            }
            assert_eq!(got[0].matched, [0, 1]);
            assert!(got[1].matched.is_empty());
            assert_eq!(got[2].matched, [1]);
            assert_eq!(
                got[0].window,
                [(2, "error x".into()), (3, "boom b".into()), (4, "z".into())]
            );
            assert!(got[1].window.is_empty());
        }
    }

    #[test]
    fn an_unreadable_log_is_its_own_error() {
        let rules = CompiledRuleSet::from_toml(RULES).unwrap();
        let logs: [&[u8]; 2] = [b"\x1f\x8bnot gzip", b"boom a\n"];
        let load = |i: usize| crate::decode::decode_text(logs[i], None);
        let found = survey(&[&rules], 2, load, &[], options(2));
        assert!(found[0][0]
            .as_ref()
            .unwrap_err()
            .starts_with("corrupt gzip input"));
        assert_eq!(
            found[0][1].as_ref().unwrap().verdict.as_ref().unwrap().rule,
            "boom"
        );
    }

    #[test]
    fn profiling_times_only_the_rules_tried() {
        let rules = CompiledRuleSet::from_toml(RULES).unwrap();
        let log = "boom a\n".repeat(1000);
        let load = |_| Ok(Cow::Borrowed(log.as_str()));
        let found = survey(&[&rules], 2, load, &[false, true], options(2));
        assert_eq!(found[0][0].as_ref().unwrap().rule_seconds, None);
        let seconds = found[0][1].as_ref().unwrap().rule_seconds.clone().unwrap();
        assert_eq!(seconds.len(), 2);
        assert!(seconds[0] > 0.0);
        assert_eq!(seconds[1], 0.0);
    }
}
