//! The ignore patterns applied line by line: which lines an ignore-line
//! pattern drops and which fall in an ignored region. The engine and the
//! naive scan both go through `RegionTracker`, so both drop exactly the same
//! lines.

/// Which lines survive the ignore patterns.
#[derive(Debug, Default)]
pub struct KeptLines {
    /// Lines matching an ignore-line pattern, ascending.
    ignored: Vec<usize>,
    /// Dropped regions as inclusive line ranges, ascending; an unterminated
    /// region runs to the end of the log.
    regions: Vec<(usize, usize)>,
}

impl KeptLines {
    pub fn is_kept(&self, line: usize) -> bool {
        let in_region = {
            let after = self.regions.partition_point(|&(start, _)| start <= line);
            after > 0 && self.regions[after - 1].1 >= line
        };
        !in_region && self.ignored.binary_search(&line).is_err()
    }
}

/// Tracks ignore regions line by line, in order.
#[derive(Debug, Default)]
pub struct RegionTracker {
    open: Option<(usize, usize)>,
    kept: KeptLines,
}

impl RegionTracker {
    /// Feeds one line that may start or end a region (lines that cannot,
    /// cannot change the state, so they need not be fed). Returns whether the
    /// line is kept.
    pub fn feed(
        &mut self,
        line: usize,
        ignored: bool,
        starts: Option<usize>,
        ends: impl Fn(usize) -> bool,
    ) -> bool {
        if ignored {
            self.kept.ignored.push(line);
            return false;
        }
        match self.open {
            Some((first, region)) => {
                if ends(region) {
                    self.kept.regions.push((first, line));
                    self.open = None;
                }
                false
            }
            None => match starts {
                Some(region) => {
                    self.open = Some((line, region));
                    false
                }
                None => true,
            },
        }
    }

    pub fn finish(mut self) -> KeptLines {
        if let Some((first, _)) = self.open {
            self.kept.regions.push((first, usize::MAX));
        }
        self.kept
    }
}
