//! URL canonicalisation: one spelling per article URL, so re-posts of the same page
//! (http/https, www./m./amp. hosts, AMP paths, tracking parameters, fragments) compare equal.

use url::Url;

/// Query parameters that only track where a click came from. Compared lowercase;
/// any parameter starting with `utm_` is also dropped.
const TRACKING_PARAMS: &[&str] = &[
    "fbclid",
    "gclid",
    "gclsrc",
    "dclid",
    "msclkid",
    "yclid",
    "twclid",
    "igshid",
    "mc_cid",
    "mc_eid",
    "mkt_tok",
    "ref",
    "ref_src",
    "ref_url",
    "referrer",
    "cmpid",
    "cmp",
    "icid",
    "ocid",
    "_ga",
    "_gl",
    "_hsenc",
    "_hsmi",
    "spm",
    "smid",
    "smtyp",
    "sr_share",
    "share",
    "s_cid",
    "xtor",
    "ito",
    "at_medium",
    "at_campaign",
    "ns_source",
    "ns_mchannel",
    "ns_campaign",
    "ns_linkname",
    "ns_fee",
    "guccounter",
    "guce_referrer",
    "guce_referrer_sig",
    "__twitter_impression",
    "wt.mc_id",
    "ncid",
    "mbid",
    "intcmp",
];

/// Host prefixes that serve the same article as the bare host.
const HOST_PREFIXES: &[&str] = &["www.", "m.", "mobile.", "amp."];

fn is_tracking_param(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.starts_with("utm_") || TRACKING_PARAMS.contains(&key.as_str())
}

fn is_amp_param(key: &str, value: &str) -> bool {
    key.eq_ignore_ascii_case("amp")
        || (key.eq_ignore_ascii_case("outputtype") && value.eq_ignore_ascii_case("amp"))
}

/// Canonical form of an article URL, or `None` if `raw` is not an absolute http(s) URL
/// with a host, or its canonical form is longer than [`super::MAX_URL_BYTES`].
///
/// Canonical form: `https://` + lowercase host without `www.`/`m.`/`mobile.`/`amp.`
/// prefixes or trailing dot, non-default port kept; path without AMP variants (`/amp`
/// segments, `.amp.html`, `.amp`), empty segments or trailing slash (the root stays `/`);
/// query without tracking or AMP parameters, remaining parameters sorted; no fragment,
/// no user info. `http` and `https` therefore give the same canonical URL.
pub fn canonicalize_url(raw: &str) -> Option<String> {
    let raw = raw.trim();
    let parsed = if raw.starts_with("//") {
        Url::parse(&format!("https:{raw}")).ok()?
    } else {
        Url::parse(raw).ok()?
    };
    if !matches!(parsed.scheme(), "http" | "https") {
        return None;
    }

    let mut host = parsed
        .host_str()?
        .trim_end_matches('.')
        .to_ascii_lowercase();
    while let Some(rest) = HOST_PREFIXES.iter().find_map(|p| host.strip_prefix(p)) {
        // Keep at least a registrable-looking name: never strip "m.com" to "com".
        if !rest.contains('.') {
            break;
        }
        host = rest.to_owned();
    }
    // A dotless name ("http:///path" parses with host "path", intranet names) is not
    // a news site; IPv6 literals contain ':'.
    if !host.contains('.') && !host.contains(':') {
        return None;
    }
    // A domain whose last label is a number is read as an (invalid) IPv4 address once
    // its trailing dots are gone: "example.com.0.." parses, "example.com.0" does not.
    if matches!(parsed.host(), Some(url::Host::Domain(_)))
        && host.rsplit('.').next().is_some_and(ends_in_number)
    {
        return None;
    }

    let mut out = String::with_capacity(raw.len());
    out.push_str("https://");
    out.push_str(&host);
    if let Some(port) = parsed.port().filter(|p| *p != 80 && *p != 443) {
        out.push(':');
        out.push_str(&port.to_string());
    }

    let mut segments: Vec<&str> = parsed
        .path()
        .split('/')
        .filter(|s| !s.is_empty() && !s.eq_ignore_ascii_case("amp"))
        .collect();
    // Strip the AMP suffix of the last segment; if that leaves an `amp` or dot segment
    // ("amp.amp", "..amp"), drop it and strip the one before, so that the canonical form
    // of a canonical URL is itself.
    let mut last_stripped = None;
    while let Some(last) = segments.last() {
        let stripped = strip_amp_suffix(last);
        // "..amp" strips to ".", which a URL parser would then resolve away.
        if stripped.eq_ignore_ascii_case("amp") || is_dot_segment(&stripped) {
            segments.pop();
            continue;
        }
        last_stripped = Some(stripped);
        break;
    }
    if let (Some(last), Some(stripped)) = (segments.last_mut(), last_stripped.as_deref()) {
        *last = stripped;
    }
    out.push('/');
    push_with_upper_escapes(&mut out, &segments.join("/"));

    let mut params: Vec<(String, String)> = parsed
        .query_pairs()
        .filter(|(k, v)| !k.is_empty() && !is_tracking_param(k) && !is_amp_param(k, v))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if !params.is_empty() {
        params.sort();
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        out.push('?');
        out.push_str(&query);
    }
    // Percent-encoding can triple a URL's length; an address longer than this is not one
    // a news site serves, and would not fit the unique index on canonical URLs.
    (out.len() <= super::MAX_URL_BYTES).then_some(out)
}

/// `.` or `..`, also percent-encoded (`%2e`): segments a URL parser resolves.
fn is_dot_segment(segment: &str) -> bool {
    let decoded = segment.to_ascii_lowercase().replace("%2e", ".");
    decoded == "." || decoded == ".."
}

/// WHATWG's "ends in a number" test for a host's last label: decimal, or `0x` hex.
fn ends_in_number(label: &str) -> bool {
    let hex = label
        .strip_prefix("0x")
        .or_else(|| label.strip_prefix("0X"));
    match hex {
        Some(digits) => digits.bytes().all(|b| b.is_ascii_hexdigit()),
        None => !label.is_empty() && label.bytes().all(|b| b.is_ascii_digit()),
    }
}

/// Appends `path` with percent-escapes in upper case (`%c3%a9` -> `%C3%A9`), the
/// spelling the url crate itself produces, so both spellings compare equal.
fn push_with_upper_escapes(out: &mut String, path: &str) {
    let mut escape = 0;
    for c in path.chars() {
        if escape > 0 {
            out.push(c.to_ascii_uppercase());
            escape -= 1;
        } else {
            out.push(c);
            if c == '%' {
                escape = 2;
            }
        }
    }
}

/// `story.amp.html` -> `story.html`, `story.amp` -> `story`, repeatedly (so that the
/// canonical form of a canonical URL is itself).
fn strip_amp_suffix(segment: &str) -> String {
    let mut current = segment.to_owned();
    loop {
        let next = strip_amp_suffix_once(&current);
        if next == current {
            return current;
        }
        current = next;
    }
}

fn strip_amp_suffix_once(segment: &str) -> String {
    let lower = segment.to_ascii_lowercase();
    if lower.ends_with(".amp.html") || lower.ends_with(".amp.htm") {
        let cut = lower.rfind(".amp.").unwrap_or(segment.len());
        let mut s = segment.get(..cut).unwrap_or(segment).to_owned();
        s.push_str(segment.get(cut + 4..).unwrap_or(""));
        s
    } else if lower.ends_with(".amp") && segment.len() > 4 {
        segment
            .get(..segment.len() - 4)
            .unwrap_or(segment)
            .to_owned()
    } else {
        segment.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(raw: &str) -> String {
        canonicalize_url(raw).unwrap_or_else(|| format!("<none for {raw}>"))
    }

    #[test]
    fn scheme_host_and_port() {
        assert_eq!(
            c("HTTP://Example.COM/News/Story"),
            "https://example.com/News/Story"
        );
        assert_eq!(c("https://example.com:443/a"), "https://example.com/a");
        assert_eq!(c("http://example.com:80/a"), "https://example.com/a");
        assert_eq!(c("http://example.com:443/a"), "https://example.com/a");
        assert_eq!(
            c("https://example.com:8443/a"),
            "https://example.com:8443/a"
        );
        assert_eq!(c("https://user:pw@example.com/a"), "https://example.com/a");
        assert_eq!(c("https://example.com./a"), "https://example.com/a");
        assert_eq!(c("  https://example.com/a  "), "https://example.com/a");
        assert_eq!(c("//example.com/a"), "https://example.com/a");
    }

    #[test]
    fn host_prefixes() {
        assert_eq!(
            c("https://www.bbc.co.uk/news/1"),
            "https://bbc.co.uk/news/1"
        );
        assert_eq!(c("https://m.bbc.co.uk/news/1"), "https://bbc.co.uk/news/1");
        assert_eq!(c("https://mobile.example.com/x"), "https://example.com/x");
        assert_eq!(c("https://amp.example.com/x"), "https://example.com/x");
        assert_eq!(c("https://www.m.example.com/x"), "https://example.com/x");
        assert_eq!(c("https://m.com/x"), "https://m.com/x");
        assert_eq!(c("https://www.com/x"), "https://www.com/x");
        assert_eq!(
            c("https://news.example.com/x"),
            "https://news.example.com/x"
        );
    }

    #[test]
    fn amp_variants() {
        let want = "https://example.com/2024/05/story";
        assert_eq!(c("https://example.com/2024/05/story/amp/"), want);
        assert_eq!(c("https://example.com/2024/05/story/amp"), want);
        assert_eq!(c("https://example.com/amp/2024/05/story"), want);
        assert_eq!(c("https://example.com/2024/05/story.amp"), want);
        assert_eq!(c("https://example.com/2024/05/story?amp"), want);
        assert_eq!(c("https://example.com/2024/05/story?amp=1"), want);
        assert_eq!(c("https://example.com/2024/05/story?outputType=amp"), want);
        assert_eq!(c("https://amp.example.com/2024/05/story/amp"), want);
        assert_eq!(
            c("https://example.com/a/story.amp.html"),
            "https://example.com/a/story.html"
        );
        assert_eq!(
            c("https://example.com/a/story.html"),
            "https://example.com/a/story.html"
        );
        // outputType with another value is content-relevant
        assert_eq!(
            c("https://example.com/a?outputType=print"),
            "https://example.com/a?outputType=print"
        );
    }

    #[test]
    fn tracking_parameters_dropped_and_rest_sorted() {
        assert_eq!(
            c("https://example.com/a?utm_source=tw&utm_medium=social&id=7&fbclid=x&gclid=y"),
            "https://example.com/a?id=7"
        );
        assert_eq!(
            c(
                "https://example.com/a?b=2&a=1&mc_cid=1&mc_eid=2&ref=home&ref_src=twsrc&cmpid=3&icid=4&_ga=5&igshid=6&spm=7&UTM_Campaign=z"
            ),
            "https://example.com/a?a=1&b=2"
        );
        assert_eq!(
            c("https://example.com/a?z=1&a=2&m=3"),
            "https://example.com/a?a=2&m=3&z=1"
        );
        assert_eq!(
            c("https://example.com/a?utm_source=x"),
            "https://example.com/a"
        );
        assert_eq!(c("https://example.com/a?"), "https://example.com/a");
        assert_eq!(
            c("https://example.com/a?q=hello%20world"),
            "https://example.com/a?q=hello+world"
        );
        assert_eq!(
            c("https://example.com/a?q=hello+world"),
            "https://example.com/a?q=hello+world"
        );
    }

    #[test]
    fn fragments_and_slashes() {
        assert_eq!(
            c("https://example.com/a/b/#comments"),
            "https://example.com/a/b"
        );
        assert_eq!(c("https://example.com/a//b"), "https://example.com/a/b");
        assert_eq!(c("https://example.com"), "https://example.com/");
        assert_eq!(c("https://example.com/"), "https://example.com/");
        assert_eq!(c("https://example.com/#top"), "https://example.com/");
        assert_eq!(
            c("https://example.com/a/./b/../c"),
            "https://example.com/a/c"
        );
    }

    #[test]
    fn http_and_https_variants_agree() {
        let variants = [
            "http://www.example.com/world/story-123/",
            "https://example.com/world/story-123",
            "https://m.example.com/world/story-123?utm_source=rss#x",
            "https://amp.example.com/world/story-123/amp?amp=1",
            "HTTPS://WWW.EXAMPLE.COM:443/world/story-123/",
        ];
        for v in variants {
            assert_eq!(c(v), "https://example.com/world/story-123", "{v}");
        }
    }

    #[test]
    fn paths_keep_case_and_encoding() {
        assert_eq!(
            c("https://example.com/Caf%C3%A9"),
            "https://example.com/Caf%C3%A9"
        );
        assert_eq!(
            c("https://example.com/café"),
            "https://example.com/caf%C3%A9"
        );
        assert_eq!(
            c("https://example.com/caf%c3%a9"),
            "https://example.com/caf%C3%A9"
        );
        assert_eq!(
            c("https://bücher.example/a"),
            "https://xn--bcher-kva.example/a"
        );
    }

    #[test]
    fn canonical_form_is_a_fixed_point() {
        for raw in [
            "https://m.m.example.com/a.amp.amp",
            "https://example.com/a.amp.amp.html",
            "https://example.com/amp/amp/a/",
            "https://www.amp.example.com/a?amp&amp=1",
            // Found by the property tests: "amp.amp" became an "amp" segment, which the
            // next canonicalisation dropped.
            "https://www.example.com/amp.amp",
            "https://example.com/x.amp/amp.amp",
            "https://example.com/x/AMP.amp.amp",
            "https://www.example.com./..amp",
            "https://example.com/a/...amp",
            "https://example.com/a/%2E%2e.amp",
        ] {
            let once = c(raw);
            assert_eq!(c(&once), once, "{raw}");
        }
        assert_eq!(c("https://example.com/a.amp.amp"), "https://example.com/a");
        assert_eq!(c("https://www.example.com/amp.amp"), "https://example.com/");
        assert_eq!(
            c("https://example.com/x.amp/amp.amp"),
            "https://example.com/x"
        );
    }

    #[test]
    fn mutated_urls_never_panic_and_are_idempotent() {
        let base = "https://www.Example.com:8080/a/amp/b.amp.html?utm_source=x&q=%c3%a9&amp=1#f";
        let alphabet = "/?#&=%.:@[]ampAMP ÿé\u{0}\\";
        let alphabet: Vec<char> = alphabet.chars().collect();
        let mut state = 0x1234_5678_9abc_def1_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as usize
        };
        for _ in 0..20_000 {
            let mut chars: Vec<char> = base.chars().collect();
            for _ in 0..(next() % 4 + 1) {
                let i = next() % chars.len().max(1);
                let c = alphabet[next() % alphabet.len()];
                match next() % 3 {
                    0 if i < chars.len() => chars[i] = c,
                    1 => chars.insert(i.min(chars.len()), c),
                    _ if i < chars.len() => {
                        chars.remove(i);
                    }
                    _ => {}
                }
            }
            let raw: String = chars.into_iter().collect();
            if let Some(canonical) = canonicalize_url(&raw) {
                assert_eq!(
                    canonicalize_url(&canonical).as_deref(),
                    Some(canonical.as_str()),
                    "{raw:?}"
                );
            }
        }
    }

    #[test]
    fn invalid_urls() {
        for raw in [
            "",
            "   ",
            "not a url",
            "example.com/a",
            "ftp://example.com/a",
            "mailto:someone@example.com",
            "javascript:alert(1)",
            "https://",
            "http:///path",
            "file:///etc/passwd",
            "https://exa mple.com/",
            // Found by the property tests: parses with its trailing dots, and its
            // canonical form (without them) did not parse at all.
            "https://amp.www.m.example.com.0..",
            "https://example.com.0x1F../a",
        ] {
            assert_eq!(canonicalize_url(raw), None, "{raw:?}");
        }
    }

    #[test]
    fn overlong_canonical_forms_are_not_urls() {
        // 1,000 spaces become 3,000 bytes of %20: over the limit although the input is not.
        let raw = format!("https://example.com/{}", " x".repeat(700));
        assert!(raw.len() <= super::super::MAX_URL_BYTES);
        assert_eq!(canonicalize_url(&raw), None);
        let fits = format!("https://example.com/{}", "a".repeat(2_000));
        assert_eq!(canonicalize_url(&fits).map(|u| u.len()), Some(2_020));
    }
}
