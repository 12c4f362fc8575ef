//! Classifying CI logs. `ruleset` loads rules as plain data; `engine`
//! compiles them (with `prefilter`'s literals and `confine`'s one-line
//! rewrite) and classifies in one pass; `naive` is the slow oracle it is
//! checked against. Both share `normalize`, `ignore` and `verdict`; `lint`
//! checks rules the way the engine will see them. `locator` finds the failing
//! line without rules, for logs no rule (or only a wrapper) explains.

pub mod confine;
pub mod engine;
pub mod ignore;
pub mod lint;
pub mod locator;
pub mod naive;
pub mod normalize;
pub mod prefilter;
pub mod ruleset;
pub mod verdict;
