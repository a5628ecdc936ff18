//! Duplicate sketches: word shingles of the normalised text, and MinHash/LSH band keys
//! that make near-duplicate and truncated copies share at least one key.
//!
//! Two MinHash signatures feed the band keys:
//! * the whole text: one-permutation hashing (each shingle hashed once into one of 128
//!   bins, empty bins densified) rather than 128 independent permutations, which would
//!   cost ~80k hash evaluations for a 600-word article, over our budget; 32 bands x 4
//!   rows, so P(candidate) = 1-(1-J^4)^32: 1.0 at J=0.8, 0.9998 at J=0.7, 0.87 at
//!   J=0.5, 0.23 at J=0.3, 0.0002 at J=0.05 (checked by `lsh_recall_follows_the_banding_curve`).
//! * the lead (first [`LEAD_SHINGLES`] shingles): the same with 32 bins, 8 bands x 4
//!   rows, so a truncated copy (the first 40-60% of an article, whose whole-text Jaccard
//!   is only ~0.4-0.6) still shares a key with its original.
//!
//! Band keys carry their band number in the top byte, so equal signatures in different
//! bands never collide, and the key alone says which band matched.

use xxhash_rust::xxh3::{xxh3_64, xxh3_64_with_seed};

use crate::article::normalize::join_words;

/// Words per shingle. Measured (`dedup::tests::measure_shingle_size_and_thresholds`):
/// k = 3..6 give nearly the same similarity for copies (a 2-of-30-sentence edit: 0.85
/// at k=3, 0.83 at k=5, 0.82 at k=6), while different articles on the same story share
/// 0.4-1.8% of 3-shingles, 0.2-1% of 4-shingles and 0-0.4% of 5-shingles: 5 separates
/// best before copies start to suffer.
pub const SHINGLE_WORDS: usize = 5;
/// Shingles at the start of the text that make up the lead signature.
pub const LEAD_SHINGLES: usize = 64;

const MAIN_BINS: usize = 128;
const ROWS: usize = 4;
const MAIN_BANDS: usize = MAIN_BINS / ROWS;
const LEAD_BINS: usize = 32;
const LEAD_BANDS: usize = LEAD_BINS / ROWS;
/// Band numbers of lead bands follow the main bands.
const LEAD_BAND_OFFSET: usize = MAIN_BANDS;
/// Number of band keys of a non-empty sketch.
pub const BAND_KEYS: usize = MAIN_BANDS + LEAD_BANDS;

/// What the dedup index needs of one text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sketch {
    /// Hashes of the text's word shingles, sorted, unique: exact similarity is computed
    /// on these.
    pub shingles: Vec<u64>,
    /// LSH band keys (at most [`BAND_KEYS`], none for an empty text): articles sharing a
    /// key are candidates for exact verification, here and in the Postgres band index.
    pub band_keys: Vec<i64>,
}

/// murmur3's 64-bit finaliser: a cheap bijective mixer.
fn fmix64(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// What the dedup index needs of one text, from one pass over its words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    /// Equal to `Article::content_hash` of an article with this text.
    pub content_hash: i64,
    /// Equal to [`sketch`] of this text.
    pub sketch: Sketch,
}

/// Hashes of the words of `text` in order; `joined` receives the word stream.
fn word_hashes(text: &str, joined: &mut Vec<u8>) -> Vec<u64> {
    let mut words: Vec<u64> = Vec::with_capacity(text.len() / 5 + 1);
    join_words(text, joined, |w| words.push(xxh3_64(w)));
    words
}

/// Shingle hashes in text order (with repeats), from the word hashes. A text shorter
/// than one shingle gives a single shingle of all its words.
fn shingles_in_order(words: &[u64], k: usize) -> Vec<u64> {
    if words.is_empty() {
        return Vec::new();
    }
    let k = k.clamp(1, words.len());
    if k == SHINGLE_WORDS {
        // the usual case, with the window length known to the compiler (unrolled)
        return words
            .windows(SHINGLE_WORDS)
            .map(|window| shingle_hash(window.iter().take(SHINGLE_WORDS)))
            .collect();
    }
    words
        .windows(k)
        .map(|window| shingle_hash(window.iter()))
        .collect()
}

/// Order-sensitive combination of the word hashes, finished with a full mix: a few
/// multiplications per shingle instead of hashing a 40-byte buffer.
#[inline(always)]
fn shingle_hash<'a>(words: impl Iterator<Item = &'a u64>) -> u64 {
    let h = words.fold(0u64, |h, &w| {
        (h.rotate_left(23) ^ w).wrapping_mul(0x9e37_79b9_7f4a_7c15)
    });
    fmix64(h)
}

/// `values` sorted, without repeats, for values spread uniformly over `u64` (hashes).
///
/// Hand-written rather than `sort_unstable` + `dedup`: a comparison sort costs ~85
/// instructions per shingle, more than hashing them. One counting pass on the top bits
/// puts every value in its bucket (about two per bucket, in order); each bucket is
/// then sorted on its own, by insertion when small. A bucket that is large (input made
/// to collide) falls back to `sort_unstable`, so the worst case stays O(n log n).
fn sorted_unique(values: &[u64]) -> Vec<u64> {
    const SMALL: usize = 16;
    let n = values.len();
    if n <= 2 * SMALL {
        let mut out = values.to_vec();
        out.sort_unstable();
        out.dedup();
        return out;
    }
    // about two values per bucket; n > 32 so bits >= 4
    let bits = (usize::BITS - 1 - n.leading_zeros()).min(16);
    let shift = u64::BITS - bits;
    let mut ends = vec![0usize; (1 << bits) + 1];
    for &v in values {
        if let Some(count) = ends.get_mut((v >> shift) as usize + 1) {
            *count += 1;
        }
    }
    for b in 1..ends.len() {
        ends[b] += ends[b - 1];
    }
    // `ends[b]` is where bucket `b` starts; advanced while filling, it ends where it ends
    let mut out = vec![0u64; n];
    for &v in values {
        let b = (v >> shift) as usize;
        if let Some(slot) = ends.get_mut(b) {
            if let Some(cell) = out.get_mut(*slot) {
                *cell = v;
            }
            *slot += 1;
        }
    }
    let mut start = 0;
    for &end in ends.iter().take(1 << bits) {
        let bucket = out.get_mut(start..end).unwrap_or_default();
        if bucket.len() > SMALL {
            bucket.sort_unstable();
        } else {
            for i in 1..bucket.len() {
                let mut j = i;
                while j > 0 && bucket[j - 1] > bucket[j] {
                    bucket.swap(j - 1, j);
                    j -= 1;
                }
            }
        }
        start = end;
    }
    out.dedup();
    out
}

/// Sketch of a normalised text (normally `Article::text`).
pub fn sketch(text: &str) -> Sketch {
    sketch_with(text, SHINGLE_WORDS)
}

/// Content hash and sketch of a normalised text, tokenised once: what
/// `Article::content_hash` and [`sketch`] give separately, for about the cost of the
/// sketch alone.
pub fn fingerprint(text: &str) -> Fingerprint {
    let mut joined = Vec::new();
    let words = word_hashes(text, &mut joined);
    Fingerprint {
        content_hash: xxh3_64(&joined) as i64,
        sketch: sketch_of_words(&words, SHINGLE_WORDS),
    }
}

pub(crate) fn sketch_with(text: &str, k: usize) -> Sketch {
    sketch_of_words(&word_hashes(text, &mut Vec::new()), k)
}

fn sketch_of_words(words: &[u64], k: usize) -> Sketch {
    let in_order = shingles_in_order(words, k);
    let band_keys = band_keys_for(&in_order);
    let shingles = sorted_unique(&in_order);
    Sketch {
        shingles,
        band_keys,
    }
}

/// Band keys of shingles given in text order (the lead is their start).
fn band_keys_for(in_order: &[u64]) -> Vec<i64> {
    let mut band_keys = Vec::with_capacity(BAND_KEYS);
    if !in_order.is_empty() {
        let lead = in_order.get(..LEAD_SHINGLES).unwrap_or(in_order);
        band_keys.extend(band_keys_of(&main_signature(in_order), 0));
        band_keys.extend(band_keys_of(&lead_signature(lead), LEAD_BAND_OFFSET));
    }
    band_keys
}

/// One-permutation MinHash with "optimal densification" (Shrivastava, ICML 2017): each
/// shingle (mixed with `seed`) goes to one of `B` bins by its top bits and the bin keeps
/// the minimum; an empty bin takes the value of the first filled bin in its own
/// pseudo-random probe sequence. (Borrowing from the next bin to the right instead
/// makes neighbouring bins equal, so short unrelated texts sharing a few shingles share
/// whole bands: 39% false candidates at 30 shingles and Jaccard 0.05, see the recall
/// test.) `B` is a power of two, at most 128.
fn signature<const B: usize>(shingles: &[u64], seed: u64) -> [u64; B] {
    let shift = 64 - B.trailing_zeros();
    let mut bins = [u64::MAX; B];
    let mut filled = 0u128;
    for &h in shingles {
        let h = if seed == 0 { h } else { fmix64(h ^ seed) };
        let bin = (h >> shift) as usize;
        if let Some(slot) = bins.get_mut(bin) {
            *slot = (*slot).min(h);
            filled |= 1 << bin;
        }
    }
    let all = if B == 128 {
        u128::MAX
    } else {
        (1u128 << B) - 1
    };
    if filled == all || filled == 0 {
        return bins;
    }
    let source = bins;
    for (i, bin) in bins.iter_mut().enumerate() {
        if filled & (1 << i) != 0 {
            continue;
        }
        let probe = (1..=4 * B as u64)
            .map(|attempt| (fmix64(((i as u64) << 32) ^ attempt ^ seed) % B as u64) as usize)
            .find(|&j| filled & (1 << j) != 0)
            // unreachable in practice (P < 1e-4 with one filled bin); keeps it total
            .or_else(|| (0..B).find(|&j| filled & (1 << j) != 0));
        if let Some(v) = probe.and_then(|j| source.get(j)) {
            *bin = *v;
        }
    }
    bins
}

/// The whole text's signature: shingle hashes are already uniform, used as they are.
fn main_signature(shingles: &[u64]) -> [u64; MAIN_BINS] {
    signature::<MAIN_BINS>(shingles, 0)
}

/// The lead's signature: re-mixed with a seed, so its bins are independent of the
/// main signature's.
fn lead_signature(lead: &[u64]) -> [u64; LEAD_BINS] {
    signature::<LEAD_BINS>(lead, 0x6c62_272e_07bb_0142)
}

fn band_keys_of(signature: &[u64], first_band: usize) -> impl Iterator<Item = i64> + '_ {
    signature
        .chunks_exact(ROWS)
        .enumerate()
        .map(move |(b, rows)| {
            let mut bytes = [0u8; 8 * ROWS];
            for (chunk, v) in bytes.chunks_exact_mut(8).zip(rows) {
                chunk.copy_from_slice(&v.to_le_bytes());
            }
            let band = (first_band + b) as u64;
            let hash = xxh3_64_with_seed(&bytes, band);
            // top byte: band number (< 128, so the key stays positive); rest: the hash
            ((band << 56) | (hash >> 8)) as i64
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_unique_sorts_and_drops_repeats() {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = || {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            fmix64(state)
        };
        for n in [0, 1, 2, 31, 32, 33, 64, 650, 5_000] {
            let mut values: Vec<u64> = (0..n).map(|_| next()).collect();
            // repeats, and values crowding one bucket (as crafted input could)
            values.extend_from_slice(&values.clone()[..n / 3]);
            values.extend((0..n as u64 / 2).map(|i| (7 << 58) | (i * 3)));
            values.extend([0, u64::MAX, 0]);
            let mut expected = values.clone();
            expected.sort_unstable();
            expected.dedup();
            assert_eq!(sorted_unique(&values), expected, "n {n}");
        }
    }

    #[test]
    fn empty_and_tiny_texts() {
        let s = sketch("");
        assert!(s.shingles.is_empty() && s.band_keys.is_empty());
        let s = sketch(" -- , ");
        assert!(s.shingles.is_empty() && s.band_keys.is_empty());
        let s = sketch("two words");
        assert_eq!(s.shingles.len(), 1);
        assert_eq!(s.band_keys.len(), BAND_KEYS);
    }

    #[test]
    fn shingles_sorted_unique_and_presentation_insensitive() {
        let a = sketch("The cat sat on the mat. The cat sat on the mat. The cat sat on the mat.");
        assert!(a.shingles.windows(2).all(|w| w[0] < w[1]));
        let b =
            sketch("THE CAT — sat on “the” mat!!\nthe cat sat on the mat the cat sat on the mat");
        assert_eq!(a, b);
    }

    #[test]
    fn band_keys_carry_band_number() {
        let s = sketch("one two three four five six seven eight nine ten eleven twelve");
        assert_eq!(s.band_keys.len(), BAND_KEYS);
        for (i, key) in s.band_keys.iter().enumerate() {
            assert_eq!((*key >> 56) as usize, i);
            assert!(*key >= 0);
        }
    }

    /// Fraction of `pairs` random set pairs of `size` shingles and Jaccard `j` that
    /// share at least one main band key (the lead is left out: the shared shingles are
    /// spread through the sets, not at their start).
    fn main_band_recall(size: usize, j: f64, pairs: usize) -> f64 {
        let mut state = 0x853c_49e6_748f_ea9b_u64;
        let mut next = || {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            fmix64(state)
        };
        // |A∩B| = c, |A| = |B| = size: J = c / (2 size - c)
        let common = ((2.0 * size as f64 * j) / (1.0 + j)).round() as usize;
        let mut hits = 0;
        for _ in 0..pairs {
            let shared: Vec<u64> = (0..common).map(|_| next()).collect();
            let mut a = shared.clone();
            let mut b = shared;
            a.extend((common..size).map(|_| next()));
            b.extend((common..size).map(|_| next()));
            let ka = band_keys_of(&main_signature(&a), 0).collect::<Vec<_>>();
            let kb = band_keys_of(&main_signature(&b), 0).collect::<Vec<_>>();
            if ka.iter().any(|k| kb.contains(k)) {
                hits += 1;
            }
        }
        hits as f64 / pairs as f64
    }

    #[test]
    fn lsh_recall_follows_the_banding_curve() {
        // 1-(1-J^4)^32: 0.99985 at 0.7, 0.87 at 0.5, 0.0002 at 0.05
        for size in [30, 200, 650] {
            let high = main_band_recall(size, 0.7, 400);
            println!(
                "size {size}: recall {high} at J 0.7, {} at J 0.3, {} at J 0.05",
                main_band_recall(size, 0.3, 400),
                main_band_recall(size, 0.05, 400)
            );
            assert!(high >= 0.99, "size {size}, J 0.7: recall {high}");
            let low = main_band_recall(size, 0.05, 400);
            assert!(low <= 0.02, "size {size}, J 0.05: recall {low}");
        }
        let mid = main_band_recall(650, 0.5, 400);
        assert!((0.75..=0.97).contains(&mid), "J 0.5: recall {mid}");
    }

    const PINNED: (u64, i64, i64) = (2140563945767881085, 3240907658981156, 2856794657222478045);

    #[test]
    fn sketch_is_deterministic_across_runs() {
        // Pinned values: band keys are stored in Postgres, so they must never change
        // silently (a change needs a re-index).
        let s = sketch("one two three four five six seven eight nine ten eleven twelve");
        assert_eq!(s.shingles.len(), 8);
        assert_eq!(
            (s.shingles[0], s.band_keys[0], s.band_keys[BAND_KEYS - 1]),
            (PINNED.0, PINNED.1, PINNED.2),
            "sketch values changed: stored band keys would no longer match"
        );
        let again = sketch("one two three four five six seven eight nine ten eleven twelve");
        assert_eq!(s, again);
    }
}
