//! What a classification answers: the rule that won (or the locator), on
//! which line, with its captures, the shell trace before it and a score.

use super::ruleset::RuleSet;

/// The verdict of one rule, or of the locator, on one log.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub rule: String,
    /// The matched line, normalized.
    pub line: String,
    /// 1-based line number in the original log.
    pub line_num: usize,
    pub captures: Vec<String>,
    /// The nearest kept lines starting with `+` (shell trace of the commands
    /// that ran), walking back from the matched line, nearest first.
    pub context: Vec<String>,
    /// How sure the verdict is, 0 to 1: 1 for a rule's, the located line's
    /// evidence for the locator's.
    pub score: f64,
}

impl Verdict {
    /// The verdict of rule `rule_index` of `rules` on the normalized `text` of
    /// 0-based line `line`: its captures are read from `text` again.
    pub fn new(
        rules: &RuleSet,
        rule_index: usize,
        line: usize,
        text: String,
        context: Vec<String>,
    ) -> Self {
        let rule = &rules.rules[rule_index];
        let captures = rule
            .pattern
            .regex()
            .captures(&text)
            .map_or_else(Vec::new, |caps| {
                if caps.len() == 1 {
                    vec![caps[0].to_owned()]
                } else {
                    caps.iter()
                        .skip(1)
                        .flatten()
                        .map(|m| m.as_str().to_owned())
                        .collect()
                }
            });
        Self {
            rule: rule.name.clone(),
            line: text,
            line_num: line + 1,
            captures,
            context,
            score: 1.0,
        }
    }
}
