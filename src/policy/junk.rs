//! Junk file names: the glob matcher behind `DepositPolicy::is_junk` (`*` and `?`, case
//! ignored, on the last path segment only). Which patterns are junk is the policy's business.

/// The last segment of a `/`-separated path, ignoring a trailing `/`.
pub(crate) fn file_name(path: &str) -> &str {
    let trimmed = path.trim_end_matches('/');
    trimmed.rsplit('/').next().unwrap_or(trimmed)
}

/// Whether `name` matches any of `patterns`.
pub(crate) fn matches_any(patterns: &[String], name: &str) -> bool {
    let name = file_name(name);
    patterns.iter().any(|pattern| glob_match(pattern, name))
}

/// Whole-string glob match, ignoring case: `*` matches any run of characters (also none), `?`
/// exactly one character; every other character matches itself.
pub(crate) fn glob_match(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.to_lowercase().chars().collect();
    let text: Vec<char> = text.to_lowercase().chars().collect();
    let (mut p, mut t) = (0, 0);
    // Where the last `*` was seen, and the text position it currently stands for up to. On a
    // mismatch the star absorbs one more character and matching resumes after it; this is
    // linear in practice and never backtracks past the last star.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == '*' {
            star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && (pattern[p] == '?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if let Some((star_p, star_t)) = star {
            star = Some((star_p, star_t + 1));
            p = star_p + 1;
            t = star_t + 1;
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_patterns_match_whole_name_only() {
        assert!(glob_match(".DS_Store", ".DS_Store"));
        assert!(!glob_match(".DS_Store", ".DS_Store.pdf"));
        assert!(!glob_match(".DS_Store", "x.DS_Store"));
    }

    #[test]
    fn star_and_question_mark() {
        assert!(glob_match("._*", "._"));
        assert!(glob_match("._*", "._plan.pdf"));
        assert!(!glob_match("._*", "_plan.pdf"));
        assert!(glob_match(".~lock.*#", ".~lock.plan des locaux.odt#"));
        assert!(!glob_match(".~lock.*#", ".~lock.plan.odt"));
        assert!(glob_match("a*b*c", "aXXbYYbZc"));
        assert!(!glob_match("a*b*c", "aXXbYYbZ"));
        assert!(glob_match("plan-?.pdf", "plan-2.pdf"));
        assert!(!glob_match("plan-?.pdf", "plan-12.pdf"));
        assert!(glob_match("**", ""));
        assert!(!glob_match("?", ""));
    }

    #[test]
    fn case_is_ignored_including_non_ascii() {
        assert!(glob_match("Thumbs.db", "THUMBS.DB"));
        assert!(glob_match("ÉCOLE*", "école-plan.pdf"));
    }

    #[test]
    fn only_the_last_segment_is_matched() {
        let patterns = vec!["._*".to_string()];
        assert!(matches_any(&patterns, "/75001/ecole/._plan.pdf"));
        assert!(!matches_any(&patterns, "/._dossier/plan.pdf"));
        assert_eq!(file_name("a/b/c.pdf"), "c.pdf");
        assert_eq!(file_name("a/b/"), "b");
        assert_eq!(file_name("plan.pdf"), "plan.pdf");
    }
}
