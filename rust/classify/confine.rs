//! Matching line by line over many lines at once: a pattern is rewritten so
//! that it can only match within one line, where it would match that line on
//! its own. The engine's automata and the prefilter's literals (and so the
//! lint, which asks the prefilter) all see a pattern through this rewrite.

use regex_syntax::hir::{Class, ClassBytes, ClassBytesRange, ClassUnicode, ClassUnicodeRange};
use regex_syntax::hir::{Hir, HirKind, Look};

/// `pattern` confined to one line, its text anchors made line anchors.
pub fn within_line(pattern: Hir) -> Hir {
    confine_to_line(pattern, &|look| Hir::look(line_look(look)))
}

/// Text anchors become line anchors: a line never contains `\n`.
pub fn line_look(look: Look) -> Look {
    match look {
        Look::Start => Look::StartLF,
        Look::End => Look::EndLF,
        other => other,
    }
}

/// Rewrites a pattern so that, run over many lines at once, it can only match
/// within one line: classes lose `\n`, a literal `\n` can never match, and
/// assertions become `looks` of them.
pub fn confine_to_line(hir: Hir, looks: &dyn Fn(Look) -> Hir) -> Hir {
    match hir.into_kind() {
        HirKind::Class(Class::Unicode(mut class)) => {
            class.difference(&ClassUnicode::new([ClassUnicodeRange::new('\n', '\n')]));
            Hir::class(Class::Unicode(class))
        }
        HirKind::Class(Class::Bytes(mut class)) => {
            class.difference(&ClassBytes::new([ClassBytesRange::new(b'\n', b'\n')]));
            Hir::class(Class::Bytes(class))
        }
        HirKind::Literal(lit) if lit.0.contains(&b'\n') => Hir::fail(),
        HirKind::Look(look) => looks(look),
        HirKind::Repetition(mut rep) => {
            rep.sub = Box::new(confine_to_line(*rep.sub, looks));
            Hir::repetition(rep)
        }
        HirKind::Capture(mut cap) => {
            cap.sub = Box::new(confine_to_line(*cap.sub, looks));
            Hir::capture(cap)
        }
        HirKind::Concat(subs) => Hir::concat(
            subs.into_iter()
                .map(|sub| confine_to_line(sub, looks))
                .collect(),
        ),
        HirKind::Alternation(subs) => Hir::alternation(
            subs.into_iter()
                .map(|sub| confine_to_line(sub, looks))
                .collect(),
        ),
        HirKind::Empty => Hir::empty(),
        HirKind::Literal(lit) => Hir::literal(lit.0),
    }
}
