//! What a classification answers: the rule that won, on which line, with its
//! captures and the shell trace before it.

use super::ruleset::RuleSet;

/// The verdict of one rule on one log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Position of the rule in priority order.
    pub rule_index: usize,
    pub rule: String,
    /// The matched line, normalized.
    pub line: String,
    /// 1-based line number in the original log.
    pub line_num: usize,
    pub captures: Vec<String>,
    /// The nearest kept lines starting with `+` (shell trace of the commands
    /// that ran), walking back from the matched line, nearest first.
    pub context: Vec<String>,
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
            rule_index,
            rule: rule.name.clone(),
            line: text,
            line_num: line + 1,
            captures,
            context,
        }
    }
}
