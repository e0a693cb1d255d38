//! `--shard I/N`: the part of a sweep one of N parallel jobs runs.

use std::fmt;
use std::str::FromStr;

/// Shard `index` of `count`, counted from 1. Variant `k` (from 0, in expansion order) belongs
/// to shard `k % count + 1`, so N jobs with shards 1/N to N/N run every variant exactly once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This job's shard, from 1 to `count`.
    pub index: usize,
    /// The number of jobs.
    pub count: usize,
}

impl Shard {
    /// The whole sweep as one shard.
    pub const ALL: Shard = Shard { index: 1, count: 1 };

    /// Returns whether the variant at `position` in expansion order belongs to this shard.
    pub fn contains(self, position: usize) -> bool {
        position % self.count + 1 == self.index
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let usage = "write the shard as I/N with 1 <= I <= N, for example 2/4";
        let Some((index, count)) = text.split_once('/') else {
            return Err(format!("`{text}` is not of the form I/N; {usage}"));
        };
        let parse = |part: &str| part.trim().parse::<usize>().map_err(|_| format!("`{text}`: `{part}` is not a whole number; {usage}"));
        let (index, count) = (parse(index)?, parse(count)?);
        if count == 0 {
            return Err(format!("`{text}`: the shard count must be at least 1; {usage}"));
        }
        if index == 0 {
            return Err(format!("`{text}`: shards count from 1, so the first is 1/{count}"));
        }
        if index > count {
            return Err(format!("`{text}`: shard {index} is past the shard count {count}; use 1/{count} to {count}/{count}"));
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_cover_every_position_once() {
        let shards: Vec<Shard> = (1..=3).map(|index| Shard { index, count: 3 }).collect();
        for position in 0..10 {
            assert_eq!(shards.iter().filter(|shard| shard.contains(position)).count(), 1, "position {position}");
        }
        assert!(Shard::ALL.contains(7));
    }

    #[test]
    fn parses_valid_shards() {
        assert_eq!("2/4".parse::<Shard>(), Ok(Shard { index: 2, count: 4 }));
        assert_eq!("1/1".parse::<Shard>(), Ok(Shard::ALL));
    }

    #[test]
    fn rejects_index_past_count() {
        assert_eq!("3/2".parse::<Shard>().unwrap_err(), "`3/2`: shard 3 is past the shard count 2; use 1/2 to 2/2");
    }

    #[test]
    fn rejects_index_zero() {
        assert_eq!("0/2".parse::<Shard>().unwrap_err(), "`0/2`: shards count from 1, so the first is 1/2");
    }

    #[test]
    fn rejects_malformed_text() {
        assert!("2".parse::<Shard>().unwrap_err().contains("is not of the form I/N"));
        assert!("a/2".parse::<Shard>().unwrap_err().contains("`a` is not a whole number"));
        assert!("1/0".parse::<Shard>().unwrap_err().contains("the shard count must be at least 1"));
    }
}
