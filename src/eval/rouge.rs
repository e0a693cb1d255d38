//! ROUGE-L: similarity of two texts from their longest common subsequence of tokens.

/// Returns the ROUGE-L F1 score of `candidate` against `reference`, from 0 to 1.
///
/// Both texts are lowercased and split at every character that is not an ASCII letter or
/// digit, as the default tokenizer of Google's `rouge-score` package (without stemming)
/// does, so scores match that package. Non-ASCII letters therefore split words. With `lcs`
/// the length of the longest common subsequence of tokens, precision is `lcs / candidate
/// tokens`, recall is `lcs / reference tokens`, and F1 is `2PR / (P + R)`. The score is 0
/// when either text has no tokens.
pub fn rouge_l_f1(reference: &str, candidate: &str) -> f64 {
    let reference = reference.to_lowercase();
    let candidate = candidate.to_lowercase();
    let reference_tokens = tokenize(&reference);
    let candidate_tokens = tokenize(&candidate);
    if reference_tokens.is_empty() || candidate_tokens.is_empty() {
        return 0.0;
    }

    let lcs = lcs_length(&reference_tokens, &candidate_tokens);
    if lcs == 0 {
        return 0.0;
    }

    let precision = lcs as f64 / candidate_tokens.len() as f64;
    let recall = lcs as f64 / reference_tokens.len() as f64;
    2.0 * precision * recall / (precision + recall)
}

fn tokenize(text: &str) -> Vec<&str> {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|token| !token.is_empty())
        .collect()
}

/// Returns the length of the longest common subsequence of `a` and `b`.
///
/// The dynamic program keeps one row over the shorter sequence plus the diagonal cell, so
/// memory is O(min(n, m)) while time is O(n·m).
fn lcs_length(a: &[&str], b: &[&str]) -> usize {
    let (outer, inner) = if a.len() >= b.len() { (a, b) } else { (b, a) };

    // row[j] is the LCS length of the outer prefix so far and inner[..j].
    let mut row = vec![0usize; inner.len() + 1];
    for outer_token in outer {
        let mut diagonal = 0;
        for (j, inner_token) in inner.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = if outer_token == inner_token {
                diagonal + 1
            } else {
                above.max(row[j])
            };
            diagonal = above;
        }
    }
    row[inner.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected scores from rouge-score 0.1.2 (PyPI), computed as
    /// `RougeScorer(['rougeL']).score(reference, candidate)['rougeL'].fmeasure`.
    const ROUGE_SCORE_CASES: [(&str, &str, f64); 7] = [
        (
            "The cat sat on the mat.",
            "The cat is on the mat.",
            0.8333333333333334,
        ),
        (
            "The car is as fast as lightning.",
            "The car is as fast as a bullet.",
            0.7999999999999999,
        ),
        (
            "Hello, World! It's 2024.",
            "hello world its 2024",
            0.6666666666666665,
        ),
        (
            "the quick brown fox jumps over the lazy dog",
            "the lazy dog jumps over the quick brown fox",
            0.4444444444444444,
        ),
        (
            "Café au lait, s'il vous plaît",
            "cafe au lait",
            0.36363636363636365,
        ),
        ("a b c d e f", "f e d c b a", 0.16666666666666666),
        ("Same words", "same WORDS", 1.0),
    ];

    #[test]
    fn matches_rouge_score_package() {
        for (reference, candidate, expected) in ROUGE_SCORE_CASES {
            let score = rouge_l_f1(reference, candidate);
            assert!(
                (score - expected).abs() < 1e-12,
                "{reference:?} vs {candidate:?}: got {score}, rouge-score gives {expected}"
            );
        }
    }

    #[test]
    fn empty_text_scores_zero() {
        assert_eq!(rouge_l_f1("", "something"), 0.0);
        assert_eq!(rouge_l_f1("something", ""), 0.0);
        assert_eq!(rouge_l_f1("!!!", "..."), 0.0);
    }

    #[test]
    fn disjoint_texts_score_zero() {
        assert_eq!(rouge_l_f1("red apple", "blue sky"), 0.0);
    }

    #[test]
    fn score_symmetric_in_f1() {
        let forward = rouge_l_f1("the cat sat down", "a cat sat");
        let backward = rouge_l_f1("a cat sat", "the cat sat down");

        assert!(
            (forward - backward).abs() < 1e-12,
            "{forward} vs {backward}"
        );
    }

    #[test]
    fn lcs_handles_either_order() {
        let long = ["a", "b", "c", "b", "d", "a", "b"];
        let short = ["b", "d", "c", "a", "b", "a"];

        assert_eq!(lcs_length(&long, &short), 4);
        assert_eq!(lcs_length(&short, &long), 4);
        assert_eq!(lcs_length(&long, &[]), 0);
    }
}
