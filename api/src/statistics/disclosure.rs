//! Disclosure control of a count table: no published figure may let
//! anyone recognise a person.
//!
//! A table over dimensions `S` is published as its *extended* table: every cell, and every
//! marginal total (a coordinate may be "all", written `None`). Each entry is in lines: fix every
//! coordinate but one dimension `d`; the entries for each value of `d` sum to the entry where
//! `d` is "all". The rules:
//!
//! 1. **Primary suppression**: an entry with `0 < count < threshold` is suppressed, and so is
//!    any non-zero entry the caller names as being of fewer people than the threshold (a table
//!    of referrals, where one person may count many times).
//! 2. **Complementary suppression**: a line never holds exactly one suppressed entry (it could be
//!    recovered by subtraction), so another one is suppressed: the smallest non-zero published
//!    cell of the line (ties: the first in value order).
//! 3. **Consistency across queries**: the entries whose "all" coordinates are the dimensions
//!    outside `T` form the sub-table over `T`; sub-tables are settled in order of size, and a
//!    sub-table's complements are chosen among its own cells only (never among the marginals,
//!    which belong to smaller sub-tables already settled). So the status of every entry of the
//!    sub-table over `T` depends on the data over `T` alone: a query over `T`, with or without
//!    more dimensions or filters, publishes exactly the same figures for it. Differencing two
//!    queries (one with a filter more) compares entries of one canonical extended table, where
//!    every line holds zero or at least two suppressed entries.
//!
//! Zeros are published (they are not people) and never chosen as complements.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// A coordinate: the index of a value of the dimension, or `None` for "all".
pub type Key = Vec<Option<u32>>;

/// Why an entry is not published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Suppression {
    /// Below the threshold.
    Primary,
    /// Suppressed so that a primary suppression cannot be recovered from a total.
    Complementary,
}

impl Suppression {
    /// The code in the API.
    pub const fn code(self) -> &'static str {
        match self {
            Self::Primary => "below_threshold",
            Self::Complementary => "complementary",
        }
    }
}

/// The extended table with each entry's status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Protected {
    /// Number of values of each dimension.
    pub sizes: Vec<u32>,
    /// Every non-zero entry (cells and marginals) and its count.
    pub counts: BTreeMap<Key, i64>,
    /// The entries not published, and why.
    pub suppressed: BTreeMap<Key, Suppression>,
}

impl Protected {
    /// The published count of an entry (`None`: suppressed), zero when absent.
    pub fn published(&self, key: &Key) -> Option<i64> {
        if self.suppressed.contains_key(key) {
            None
        } else {
            Some(self.counts.get(key).copied().unwrap_or(0))
        }
    }
}

/// Builds the extended table of `cells` (full keys, every coordinate `Some`) over dimensions of
/// `sizes` values each, and protects it with `threshold`.
pub fn protect(sizes: &[u32], cells: &BTreeMap<Vec<u32>, i64>, threshold: i64) -> Protected {
    protect_with(sizes, cells, threshold, &BTreeSet::new())
}

/// The entries of the extended table (over `dimensions` dimensions) whose cells hold fewer than
/// `threshold` distinct people, from each cell's people (`cell`, `person`, repeated freely).
pub fn entries_of_few(
    dimensions: usize,
    people: &[(Vec<u32>, &str)],
    threshold: i64,
) -> BTreeSet<Key> {
    let mut ids: HashMap<&str, u32> = HashMap::new();
    let mut of: HashMap<Key, HashSet<u32>> = HashMap::new();
    for (cell, person) in people {
        let next = u32::try_from(ids.len()).unwrap_or(u32::MAX);
        let id = *ids.entry(person).or_insert(next);
        for mask in 0u32..(1 << dimensions) {
            let key: Key = cell
                .iter()
                .enumerate()
                .map(|(d, &v)| if mask & (1 << d) == 0 { Some(v) } else { None })
                .collect();
            of.entry(key).or_default().insert(id);
        }
    }
    of.into_iter()
        .filter(|(_, people)| i64::try_from(people.len()).unwrap_or(i64::MAX) < threshold)
        .map(|(key, _)| key)
        .collect()
}

/// [`protect`], with `few`: entries suppressed as primary whatever their count.
pub fn protect_with(
    sizes: &[u32],
    cells: &BTreeMap<Vec<u32>, i64>,
    threshold: i64,
    few: &BTreeSet<Key>,
) -> Protected {
    let n = sizes.len();
    let mut counts: BTreeMap<Key, i64> = BTreeMap::new();
    for (cell, &count) in cells {
        if count == 0 {
            continue;
        }
        for mask in 0u32..(1 << n) {
            let key: Key = cell
                .iter()
                .enumerate()
                .map(|(d, &v)| if mask & (1 << d) == 0 { Some(v) } else { None })
                .collect();
            *counts.entry(key).or_insert(0) += count;
        }
    }
    let mut suppressed: BTreeMap<Key, Suppression> = BTreeMap::new();
    // Sub-tables in order of size: the dimensions present (`Some`) in each.
    let mut subsets: Vec<u32> = (0u32..(1 << n)).collect();
    subsets.sort_by_key(|s| (s.count_ones(), *s));
    for present in subsets {
        let entries = every_entry(sizes, present);
        for key in &entries {
            let count = counts.get(key).copied().unwrap_or(0);
            if count > 0 && (count < threshold || few.contains(key)) {
                suppressed.insert(key.clone(), Suppression::Primary);
            }
        }
        // Lines of this sub-table: along each present dimension.
        loop {
            let mut changed = false;
            for d in (0..n).filter(|d| present & (1 << d) != 0) {
                let mut lines: BTreeMap<Key, Vec<Key>> = BTreeMap::new();
                for key in &entries {
                    let mut total = key.clone();
                    total[d] = None;
                    lines.entry(total).or_default().push(key.clone());
                }
                for (total, cells) in lines {
                    let hidden = usize::from(suppressed.contains_key(&total))
                        + cells.iter().filter(|c| suppressed.contains_key(*c)).count();
                    if hidden != 1 {
                        continue;
                    }
                    // The smallest published non-zero cell, unless it is alone in another
                    // line (it equals that line's published total, so hiding it would protect
                    // nothing); failing that, a zero (hiding it makes its neighbours unknown).
                    let complement = cells
                        .iter()
                        .filter(|c| !suppressed.contains_key(*c))
                        .min_by_key(|c| {
                            let count = counts.get(*c).copied().unwrap_or(0);
                            (
                                pinned(c, present, sizes, &counts, &suppressed),
                                count == 0,
                                count,
                                (*c).clone(),
                            )
                        });
                    if let Some(complement) = complement {
                        suppressed.insert(complement.clone(), Suppression::Complementary);
                        changed = true;
                    }
                }
            }
            if !changed {
                break;
            }
        }
    }
    Protected {
        sizes: sizes.to_vec(),
        counts,
        suppressed,
    }
}

/// Every entry of the sub-table whose present dimensions are the bits of `present`.
fn every_entry(sizes: &[u32], present: u32) -> Vec<Key> {
    let mut out: Vec<Key> = vec![Vec::new()];
    for (d, &size) in sizes.iter().enumerate() {
        out = if present & (1 << d) == 0 {
            out.into_iter()
                .map(|mut k| {
                    k.push(None);
                    k
                })
                .collect()
        } else {
            out.into_iter()
                .flat_map(|k| {
                    (0..size).map(move |v| {
                        let mut k = k.clone();
                        k.push(Some(v));
                        k
                    })
                })
                .collect()
        };
    }
    out
}

/// Whether `cell` is known from one of its lines: the line's total is published and every other
/// cell of the line is a published zero.
fn pinned(
    cell: &Key,
    present: u32,
    sizes: &[u32],
    counts: &BTreeMap<Key, i64>,
    suppressed: &BTreeMap<Key, Suppression>,
) -> bool {
    let count = |k: &Key| counts.get(k).copied().unwrap_or(0);
    (0..sizes.len())
        .filter(|d| present & (1 << d) != 0)
        .any(|d| {
            let mut total = cell.clone();
            total[d] = None;
            !suppressed.contains_key(&total)
                && count(&total) == count(cell)
                && (0..sizes[d]).all(|v| {
                    let mut other = cell.clone();
                    other[d] = Some(v);
                    other == *cell || !suppressed.contains_key(&other)
                })
        })
}

/// Every line of the extended table with exactly one suppressed entry (empty when protected):
/// for tests and for a self-check before publishing.
pub fn lone_suppressions(table: &Protected) -> Vec<Key> {
    let n = table.sizes.len();
    let mut lone = Vec::new();
    let keys: BTreeSet<Key> = (0u32..(1 << n))
        .flat_map(|present| every_entry(&table.sizes, present))
        .collect();
    for d in 0..n {
        let mut lines: BTreeMap<Key, usize> = BTreeMap::new();
        for key in &keys {
            let mut line = key.clone();
            line[d] = None;
            let hidden = usize::from(table.suppressed.contains_key(key));
            *lines.entry(line).or_insert(0) += hidden;
        }
        for (line, hidden) in lines {
            if hidden == 1 {
                lone.push(line);
            }
        }
    }
    lone
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(rows: &[(&[u32], i64)]) -> BTreeMap<Vec<u32>, i64> {
        rows.iter().map(|(k, c)| (k.to_vec(), *c)).collect()
    }

    /// A small deterministic pseudo-random generator (no dependency on the clock).
    fn numbers(seed: u64) -> impl Iterator<Item = u64> {
        let mut x = seed;
        std::iter::from_fn(move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            Some(x)
        })
    }

    #[test]
    fn a_small_cell_and_its_complement_are_hidden_in_a_two_by_two_table() {
        // sex x child: 57 women, 2 of them girls.
        let protected = protect(
            &[2, 2],
            &table(&[(&[0, 0], 55), (&[0, 1], 2), (&[1, 0], 40), (&[1, 1], 30)]),
            10,
        );
        let key = |a: Option<u32>, b: Option<u32>| vec![a, b];
        assert_eq!(
            protected.suppressed.get(&key(Some(0), Some(1))),
            Some(&Suppression::Primary)
        );
        assert_eq!(
            protected.published(&key(Some(0), None)),
            Some(57),
            "the row total stays"
        );
        assert_eq!(
            protected.published(&key(Some(0), Some(0))),
            None,
            "55 would give away the 2"
        );
        assert!(lone_suppressions(&protected).is_empty());
    }

    #[test]
    fn every_line_of_random_tables_holds_zero_or_two_suppressions() {
        let mut rng = numbers(0x5eed);
        for round in 0..200 {
            let n = 1 + (rng.next().unwrap() % 4) as usize;
            let sizes: Vec<u32> = (0..n)
                .map(|_| 2 + (rng.next().unwrap() % 4) as u32)
                .collect();
            let mut cells = BTreeMap::new();
            let total: u32 = sizes.iter().product();
            for i in 0..total {
                let mut rest = i;
                let key: Vec<u32> = sizes
                    .iter()
                    .map(|s| {
                        let v = rest % s;
                        rest /= s;
                        v
                    })
                    .collect();
                let r = rng.next().unwrap() % 100;
                let count = if r < 30 {
                    0
                } else if r < 60 {
                    (r % 9) as i64 + 1
                } else {
                    r as i64
                };
                cells.insert(key, count);
            }
            let protected = protect(&sizes, &cells, 10);
            assert!(
                lone_suppressions(&protected).is_empty(),
                "round {round}: {sizes:?} lone {:?}\n counts {:?}\n hidden {:?}",
                lone_suppressions(&protected),
                protected.counts,
                protected.suppressed
            );
            for (key, &count) in &protected.counts {
                if count > 0 && count < 10 {
                    assert!(
                        protected.suppressed.contains_key(key),
                        "round {round}: {key:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_sub_table_is_protected_the_same_inside_a_bigger_query() {
        let mut rng = numbers(42);
        for _ in 0..100 {
            let sizes = [3u32, 4, 2];
            let mut cells = BTreeMap::new();
            for a in 0..3 {
                for b in 0..4 {
                    for c in 0..2 {
                        let r = rng.next().unwrap() % 40;
                        cells.insert(vec![a, b, c], if r < 8 { 0 } else { r as i64 });
                    }
                }
            }
            let full = protect(&sizes, &cells, 10);
            // The same data queried over the first two dimensions only.
            let mut smaller = BTreeMap::new();
            for (k, c) in &cells {
                *smaller.entry(vec![k[0], k[1]]).or_insert(0) += c;
            }
            let small = protect(&sizes[..2], &smaller, 10);
            for (key, count) in &small.counts {
                let mut wide = key.clone();
                wide.push(None);
                assert_eq!(full.counts[&wide], *count);
                assert_eq!(
                    full.suppressed.contains_key(&wide),
                    small.suppressed.contains_key(key),
                    "{key:?} published differently by two queries"
                );
            }
        }
    }

    #[test]
    fn an_entry_of_many_referrals_of_one_person_is_suppressed() {
        // Cell 0: twelve referrals of one person; cell 1: twelve of twelve people.
        let mut people: Vec<(Vec<u32>, &str)> = (0..12).map(|_| (vec![0], "one")).collect();
        let names: Vec<String> = (0..12).map(|n| format!("p{n}")).collect();
        people.extend(names.iter().map(|n| (vec![1], n.as_str())));
        let few = entries_of_few(1, &people, 10);
        assert_eq!(few, BTreeSet::from([vec![Some(0)]]));
        let protected = protect_with(&[2], &table(&[(&[0], 12), (&[1], 12)]), 10, &few);
        assert_eq!(
            protected.suppressed.get(&vec![Some(0)]),
            Some(&Suppression::Primary)
        );
        assert_eq!(
            protected.suppressed.get(&vec![Some(1)]),
            Some(&Suppression::Complementary),
            "24 - 12 would give the one person's twelve away"
        );
        assert_eq!(protected.published(&vec![None]), Some(24));
    }

    #[test]
    fn a_filter_cannot_be_differenced_away() {
        // Region x child: in region 0 there are 57 people, 2 of them children. Query A: by
        // region; query B: by region with the filter child = adult. B's entry (0, adult) is the
        // complement of (0, child), so 57 - B cannot be computed.
        let cells = table(&[(&[0, 0], 55), (&[0, 1], 2), (&[1, 0], 80), (&[1, 1], 25)]);
        let b = protect(&[2, 2], &cells, 10);
        assert_eq!(b.published(&vec![Some(0), None]), Some(57));
        assert_eq!(b.published(&vec![Some(0), Some(0)]), None);
    }
}
