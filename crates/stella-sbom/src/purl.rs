//! Package URLs (`pkg:type/namespace/name@version?qualifiers#subpath`) per the purl spec.
//!
//! Traps:
//! - Parsing goes right to left: `#` subpath, then `?` qualifiers, then `@` version (the
//!   *last* `@`, so npm scopes `%40scope` must be encoded), then the name after the last `/`.
//! - Every component is percent-decoded on parse and encoded on output; `:` is never encoded,
//!   `/` only inside a segment. Bad escapes (`%zz`, `%` at the end, invalid UTF-8) are errors.
//! - Type and qualifier keys are case-insensitive (lower-cased); qualifiers are sorted on
//!   output, empty values dropped, duplicate keys rejected.
//! - Some types normalise names: `pypi` lower-cases and turns `_` into `-`; `npm`, `deb`,
//!   `apk`, `alpm`, `bitbucket`, `github`, `composer`, `hex`, `golang` namespaces… lower-case
//!   where the spec says so. Versions are never normalised.
//! - Distro packages carry `distro=` (`debian-12`, `alpine-3.19`), `arch=` and, for rpm,
//!   `epoch=` qualifiers.

use crate::SmallMap;
use std::fmt;
use std::str::FromStr;

/// Why a Package URL was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid package URL `{purl}`: {why}")]
pub struct PurlError {
    /// The rejected text.
    pub purl: String,
    /// What is wrong.
    pub why: String,
}

/// A parsed, normalised Package URL.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Purl {
    /// Package type (`deb`, `npm`, `maven`…), lower-case.
    pub ty: String,
    /// Namespace segments joined with `/` (decoded), if any.
    pub namespace: Option<String>,
    /// Name (decoded).
    pub name: String,
    /// Version (decoded), if any.
    pub version: Option<String>,
    /// Qualifiers, sorted by key.
    pub qualifiers: SmallMap,
    /// Subpath segments joined with `/` (decoded), if any.
    pub subpath: Option<String>,
}

fn decode(purl: &str, s: &str) -> Result<String, PurlError> {
    percent_decode(s).map_err(|why| PurlError {
        purl: purl.to_string(),
        why,
    })
}

/// Decodes `%XX` escapes; the error says which escape in `s` is wrong.
pub(crate) fn percent_decode(s: &str) -> Result<String, String> {
    let err = |why: String| why;
    let b = s.as_bytes();
    // most components of real purls carry no escape: one copy, no per-byte work
    if memchr::memchr(b'%', b).is_none() {
        return Ok(s.to_string());
    }
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .filter(|h| h.len() == 2)
                .ok_or_else(|| err(format!("truncated percent-escape in `{s}`")))?;
            let v = u8::from_str_radix(hex, 16)
                .map_err(|_| err(format!("bad percent-escape `%{hex}` in `{s}`")))?;
            out.push(v);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| err("a percent-escape decodes to invalid UTF-8".into()))
}

/// Writes `s` percent-encoded: everything but unreserved characters and `:` (and `/` when
/// `keep_slash`), in runs so that plain text is copied without per-character work.
fn encode_into(f: &mut impl fmt::Write, s: &str, keep_slash: bool) -> fmt::Result {
    let b = s.as_bytes();
    let mut start = 0;
    for (i, &c) in b.iter().enumerate() {
        let plain = c.is_ascii_alphanumeric()
            || matches!(c, b'.' | b'-' | b'_' | b'~' | b':')
            || (keep_slash && c == b'/');
        if !plain {
            // A non-empty plain run is ASCII, so both ends are char boundaries; an empty one
            // may sit inside a multi-byte character and must not be sliced.
            if start < i {
                f.write_str(&s[start..i])?;
            }
            write!(f, "%{c:02X}")?;
            start = i + 1;
        }
    }
    if start < b.len() {
        f.write_str(&s[start..])?;
    }
    Ok(())
}

fn valid_type(t: &str) -> bool {
    !t.is_empty()
        && !t.as_bytes()[0].is_ascii_digit()
        && t.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'+' | b'-'))
}

fn valid_key(k: &str) -> bool {
    !k.is_empty()
        && !k.as_bytes()[0].is_ascii_digit()
        && k.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_'))
}

impl Purl {
    /// Parses and normalises a Package URL.
    pub fn parse(s: &str) -> Result<Self, PurlError> {
        let err = |why: &str| PurlError {
            purl: s.to_string(),
            why: why.to_string(),
        };
        let t = s.trim();
        let (rest, subpath) = match t.rsplit_once('#') {
            Some((r, sp)) => (r, Some(sp)),
            None => (t, None),
        };
        let (rest, quals) = match rest.rsplit_once('?') {
            Some((r, q)) => (r, Some(q)),
            None => (rest, None),
        };
        let (scheme, rest) = rest
            .split_once(':')
            .ok_or_else(|| err("missing `pkg:` scheme"))?;
        if !scheme.eq_ignore_ascii_case("pkg") {
            return Err(err("the scheme must be `pkg`"));
        }
        let rest = rest.trim_start_matches('/');
        let (ty, rest) = rest
            .split_once('/')
            .ok_or_else(|| err("missing `/` after the type"))?;
        let ty = ty.to_ascii_lowercase();
        if !valid_type(&ty) {
            return Err(err(
                "the type must be letters, digits, `.`, `+` or `-`, not starting with a digit",
            ));
        }
        let rest = rest.trim_end_matches('/');
        let (rest, version) = match rest.rsplit_once('@') {
            Some((r, v)) => (r, Some(decode(s, v)?).filter(|v| !v.is_empty())),
            None => (rest, None),
        };
        let (ns, name) = match rest.rsplit_once('/') {
            Some((ns, n)) => (Some(ns), n),
            None => (None, rest),
        };
        let mut name = decode(s, name)?;
        if name.is_empty() {
            return Err(err("the name is empty"));
        }
        let mut namespace = match ns {
            Some(ns) if !ns.contains('/') => Some(decode(s, ns)?)
                .filter(|x| !x.is_empty())
                .map(|x| {
                    if x.contains('/') {
                        Err(err("a namespace segment contains an encoded `/`"))
                    } else {
                        Ok(x)
                    }
                })
                .transpose()?,
            Some(ns) => {
                let segs: Result<Vec<String>, _> = ns
                    .split('/')
                    .filter(|x| !x.is_empty())
                    .map(|x| decode(s, x))
                    .collect();
                let segs = segs?;
                if segs.iter().any(|x| x.contains('/')) {
                    return Err(err("a namespace segment contains an encoded `/`"));
                }
                Some(segs.join("/")).filter(|x| !x.is_empty())
            }
            None => None,
        };
        // sized once: growing pair by pair was three allocations for a distro purl
        let mut qualifiers = SmallMap::with_capacity(
            quals.map_or(0, |q| q.bytes().filter(|&b| b == b'&').count() + 1),
        );
        if let Some(q) = quals {
            for pair in q.split('&').filter(|p| !p.is_empty()) {
                let (k, v) = pair
                    .split_once('=')
                    .ok_or_else(|| err("a qualifier lacks `=`"))?;
                let k = k.to_ascii_lowercase();
                if !valid_key(&k) {
                    return Err(err(&format!("invalid qualifier key `{k}`")));
                }
                let v = decode(s, v)?;
                if v.is_empty() {
                    continue;
                }
                if qualifiers.contains_key(&k) {
                    return Err(err(&format!("duplicate qualifier `{k}`")));
                }
                qualifiers.insert(k, v);
            }
        }
        let subpath = match subpath {
            Some(sp) => {
                let segs: Result<Vec<String>, _> = sp
                    .split('/')
                    .filter(|x| !x.is_empty() && *x != "." && *x != "..")
                    .map(|x| decode(s, x))
                    .collect();
                Some(segs?.join("/")).filter(|x| !x.is_empty())
            }
            None => None,
        };
        // Type-specific normalisation from the purl type definitions.
        match ty.as_str() {
            "pypi" => {
                name.make_ascii_lowercase();
                if name.contains('_') {
                    name = name.replace('_', "-");
                }
            }
            "npm" | "deb" | "apk" | "alpm" | "bitbucket" | "github" | "composer" | "hex"
            | "cran-lower" | "luarocks" => {
                name.make_ascii_lowercase();
                if let Some(n) = namespace.as_mut() {
                    n.make_ascii_lowercase();
                }
            }
            _ => {}
        }
        if ty == "maven" && namespace.is_none() {
            return Err(err("a maven purl needs a namespace (the groupId)"));
        }
        Ok(Purl {
            ty,
            namespace,
            name,
            version,
            qualifiers,
            subpath,
        })
    }

    /// Builds a Package URL from parts (normalised as parsing would).
    pub fn new(
        ty: &str,
        namespace: Option<&str>,
        name: &str,
        version: Option<&str>,
    ) -> Result<Self, PurlError> {
        let p = Purl {
            ty: ty.to_ascii_lowercase(),
            namespace: namespace.map(str::to_string),
            name: name.to_string(),
            version: version.map(str::to_string),
            qualifiers: SmallMap::new(),
            subpath: None,
        };
        Purl::parse(&p.to_string())
    }

    /// Adds a qualifier (ignored when the value is empty).
    pub fn with_qualifier(mut self, key: &str, value: &str) -> Self {
        if !value.is_empty() {
            self.qualifiers
                .insert(key.to_ascii_lowercase(), value.to_string());
        }
        self
    }
}

impl Purl {
    /// The canonical text (as `Display` writes it), built in one allocation: scans turn every
    /// package's purl back into text, so `to_string`'s growing buffer showed in profiles.
    pub fn canonical(&self) -> String {
        let n = 8
            + self.ty.len()
            + self.namespace.as_ref().map_or(0, |x| x.len() + 1)
            + self.name.len()
            + self.version.as_ref().map_or(0, |x| x.len() + 1)
            + self
                .qualifiers
                .iter()
                .map(|(k, v)| k.len() + v.len() + 2)
                .sum::<usize>()
            + self.subpath.as_ref().map_or(0, |x| x.len() + 1);
        let mut out = String::with_capacity(n + n / 8);
        let _ = self.write_to(&mut out);
        out
    }

    fn write_to(&self, f: &mut impl fmt::Write) -> fmt::Result {
        f.write_str("pkg:")?;
        f.write_str(&self.ty)?;
        f.write_str("/")?;
        if let Some(ns) = &self.namespace {
            for seg in ns.split('/') {
                encode_into(f, seg, false)?;
                f.write_str("/")?;
            }
        }
        encode_into(f, &self.name, false)?;
        if let Some(v) = &self.version {
            f.write_str("@")?;
            encode_into(f, v, false)?;
        }
        for (i, (k, v)) in self.qualifiers.iter().enumerate() {
            f.write_str(if i == 0 { "?" } else { "&" })?;
            f.write_str(k)?;
            f.write_str("=")?;
            encode_into(f, v, true)?;
        }
        if let Some(sp) = &self.subpath {
            f.write_str("#")?;
            for (i, seg) in sp.split('/').enumerate() {
                if i > 0 {
                    f.write_str("/")?;
                }
                encode_into(f, seg, false)?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for Purl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_to(f)
    }
}

impl FromStr for Purl {
    type Err = PurlError;
    fn from_str(s: &str) -> Result<Self, PurlError> {
        Purl::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> String {
        Purl::parse(s).unwrap().to_string()
    }

    #[test]
    fn spec_examples_round_trip() {
        for s in [
            "pkg:deb/debian/curl@7.50.3-1?arch=i386&distro=jessie",
            "pkg:rpm/fedora/curl@7.50.3-1.fc25?arch=i386&distro=fedora-25",
            "pkg:apk/alpine/openssl@1.1.1c-r0?arch=x86_64&distro=alpine-3.10",
            "pkg:maven/org.apache.commons/io@1.3.4",
            "pkg:golang/google.golang.org/genproto#googleapis/api/annotations",
            "pkg:npm/%40angular/animation@12.3.1",
            "pkg:nuget/EnterpriseLibrary.Common@6.0.1304",
            "pkg:cargo/rand@0.7.2",
            "pkg:gem/ruby-advisory-db-check@0.12.4",
            "pkg:docker/customer/dockerimage@sha256:244fd47e07d10?repository_url=gcr.io",
        ] {
            assert_eq!(canon(s), s);
        }
    }

    /// Cases from the purl-spec test suite (`test-suite-data.json` and
    /// `tests/spec/specification-test.json`): input, canonical form (`None` = must fail).
    #[test]
    fn purl_spec_test_suite() {
        let cases: &[(&str, Option<&str>)] = &[
            (
                "pkg:maven/org.apache.commons/io@1.3.4",
                Some("pkg:maven/org.apache.commons/io@1.3.4"),
            ),
            (
                "pkg:maven/org.apache.commons/io",
                Some("pkg:maven/org.apache.commons/io"),
            ),
            (
                "pkg:GOLANG/google.golang.org/genproto#/googleapis/api/annotations/",
                Some("pkg:golang/google.golang.org/genproto#googleapis/api/annotations"),
            ),
            (
                "pkg:GOLANG/google.golang.org/genproto@abcdedf#/googleapis/api/annotations/",
                Some("pkg:golang/google.golang.org/genproto@abcdedf#googleapis/api/annotations"),
            ),
            (
                "pkg:bitbucket/birKenfeld/pyGments-main@244fd47e07d1014f0aed9c",
                Some("pkg:bitbucket/birkenfeld/pygments-main@244fd47e07d1014f0aed9c"),
            ),
            (
                "pkg:github/Package-url/purl-Spec@244fd47e07d1004f0aed9c",
                Some("pkg:github/package-url/purl-spec@244fd47e07d1004f0aed9c"),
            ),
            (
                "pkg:deb/debian/curl@7.50.3-1?arch=i386&distro=jessie",
                Some("pkg:deb/debian/curl@7.50.3-1?arch=i386&distro=jessie"),
            ),
            (
                "pkg:docker/customer/dockerimage@sha256:244fd47e07d1004f0aed9c?repository_url=gcr.io",
                Some(
                    "pkg:docker/customer/dockerimage@sha256:244fd47e07d1004f0aed9c?repository_url=gcr.io",
                ),
            ),
            (
                "pkg:gem/jruby-launcher@1.1.2?Platform=java",
                Some("pkg:gem/jruby-launcher@1.1.2?platform=java"),
            ),
            (
                "pkg:Maven/org.apache.xmlgraphics/batik-anim@1.9.1?classifier=sources&repositorY_url=repo.spring.io/release",
                Some(
                    "pkg:maven/org.apache.xmlgraphics/batik-anim@1.9.1?classifier=sources&repository_url=repo.spring.io/release",
                ),
            ),
            (
                "pkg:Maven/net.sf.jacob-project/jacob@1.14.3?classifier=x86&type=dll",
                Some("pkg:maven/net.sf.jacob-project/jacob@1.14.3?classifier=x86&type=dll"),
            ),
            (
                "pkg:npm/%40angular/animation@12.3.1",
                Some("pkg:npm/%40angular/animation@12.3.1"),
            ),
            (
                "pkg:Nuget/EnterpriseLibrary.Common@6.0.1304",
                Some("pkg:nuget/EnterpriseLibrary.Common@6.0.1304"),
            ),
            (
                "pkg:PYPI/Django_package@1.11.1.dev1",
                Some("pkg:pypi/django-package@1.11.1.dev1"),
            ),
            (
                "pkg:Rpm/fedora/curl@7.50.3-1.fc25?Arch=i386&Distro=fedora-25",
                Some("pkg:rpm/fedora/curl@7.50.3-1.fc25?arch=i386&distro=fedora-25"),
            ),
            (
                "pkg:/maven/org.apache.commons/io",
                Some("pkg:maven/org.apache.commons/io"),
            ),
            (
                "pkg://maven/org.apache.commons/io",
                Some("pkg:maven/org.apache.commons/io"),
            ),
            (
                "pkg:///maven/org.apache.commons/io",
                Some("pkg:maven/org.apache.commons/io"),
            ),
            (
                "pkg:maven/HTTPClient/HTTPClient@0.3-3",
                Some("pkg:maven/HTTPClient/HTTPClient@0.3-3"),
            ),
            (
                "pkg:maven/mygroup/myartifact@1.0.0%20Final?mykey=my%20value",
                Some("pkg:maven/mygroup/myartifact@1.0.0%20Final?mykey=my%20value"),
            ),
            (
                "pkg:conan/bincrafters/cctz@2.3?channel=stable",
                Some("pkg:conan/bincrafters/cctz@2.3?channel=stable"),
            ),
            (
                "pkg:conda/absl-py@0.4.1?build=py36h06a4308_0&channel=main&subdir=linux-64&type=tar.bz2",
                Some(
                    "pkg:conda/absl-py@0.4.1?build=py36h06a4308_0&channel=main&subdir=linux-64&type=tar.bz2",
                ),
            ),
            (
                "pkg:swift/github.com/Alamofire/Alamofire@5.4.3",
                Some("pkg:swift/github.com/Alamofire/Alamofire@5.4.3"),
            ),
            (
                "pkg:hackage/AC-HalfInteger@1.2.1",
                Some("pkg:hackage/AC-HalfInteger@1.2.1"),
            ),
            (
                "pkg:generic/bitwarderl?checksum=sha1:ad9503c3e994a4f%2Csha256:41bf9088b3a1e6c1ef1d",
                Some(
                    "pkg:generic/bitwarderl?checksum=sha1:ad9503c3e994a4f%2Csha256:41bf9088b3a1e6c1ef1d",
                ),
            ),
            ("EnterpriseLibrary.Common@6.0.1304", None),
            ("pkg:EnterpriseLibrary.Common@6.0.1304", None),
            ("pkg:n&g?inx/nginx@0.8.9", None),
            ("pkg:3nginx/nginx@0.8.9", None),
            ("pkg:nginx:a/nginx@0.8.9", None),
            ("pkg:npm/myartifact@1.0.0?in%20production=true", None),
            ("pkg:maven/@1.3.4", None),
            ("pkg%3Amaven/org.apache.commons/io", None),
            ("pkg:hackage", None),
        ];
        for (input, want) in cases {
            match (Purl::parse(input), want) {
                (Ok(p), Some(w)) => assert_eq!(p.to_string(), *w, "{input}"),
                (Err(_), None) => {}
                (got, want) => panic!("{input}: got {got:?}, want {want:?}"),
            }
        }
        // building from components encodes a qualifier value's `,` but not its `:`
        let p = Purl::new("generic", None, "openssl", Some("1.1.10g"))
            .unwrap()
            .with_qualifier(
                "checksum",
                "sha1:ad9503c3e994a4f,sha256:41bf9088b3a1e6c1ef1d",
            );
        assert_eq!(
            p.to_string(),
            "pkg:generic/openssl@1.1.10g?checksum=sha1:ad9503c3e994a4f%2Csha256:41bf9088b3a1e6c1ef1d"
        );
    }

    #[test]
    fn normalisation() {
        assert_eq!(
            canon("PKG:PyPI/Django_Rest@1.0"),
            "pkg:pypi/django-rest@1.0"
        );
        assert_eq!(
            canon("pkg:npm/%40Angular/Core@1"),
            "pkg:npm/%40angular/core@1"
        );
        assert_eq!(
            canon("pkg:deb/debian/curl@1?distro=jessie&Arch=i386&empty="),
            "pkg:deb/debian/curl@1?arch=i386&distro=jessie"
        );
        assert_eq!(canon("pkg:golang/a/b#/./x/../y/"), "pkg:golang/a/b#x/y");
        assert_eq!(canon("pkg:generic/a%20b@1%2B2"), "pkg:generic/a%20b@1%2B2");
        let p = Purl::parse("pkg:rpm/redhat/openssl@1.0.2k-19.el7?epoch=1").unwrap();
        assert_eq!(p.qualifiers["epoch"], "1");
        assert_eq!(p.version.as_deref(), Some("1.0.2k-19.el7"));
    }

    #[test]
    fn rejects_bad_input() {
        for bad in [
            "",
            "curl",
            "http://x/y",
            "pkg:/curl",
            "pkg:1x/curl",
            "pkg:deb/",
            "pkg:generic/a%zz",
            "pkg:generic/a%4",
            "pkg:generic/a%ff",
            "pkg:maven/io@1",
            "pkg:deb/debian/x?a=1&a=2",
            "pkg:deb/debian/x?1a=1",
        ] {
            let e = Purl::parse(bad);
            assert!(e.is_err(), "{bad} parsed as {e:?}");
        }
        let e = Purl::parse("pkg:generic/a%zz").unwrap_err();
        assert!(
            e.to_string().contains("bad percent-escape `%zz` in `a%zz`"),
            "{e}"
        );
    }

    proptest::proptest! {
        #[test]
        fn display_parse_is_stable(name in "[a-zA-Z0-9 ._~@%/+-]{1,12}", ver in "[a-zA-Z0-9 .:+~-]{0,8}",
                                   q in "[a-z0-9 &=/:%]{0,8}") {
            let p = Purl {
                ty: "generic".into(), namespace: Some("ns".into()), name: name.replace('/', "_"),
                version: Some(ver).filter(|v| !v.is_empty()),
                qualifiers: [("k".to_string(), q)].into_iter().filter(|(_, v)| !v.is_empty()).collect(),
                subpath: None,
            };
            let s = p.to_string();
            proptest::prop_assert_eq!(p.canonical(), s.clone());
            let back = Purl::parse(&s).unwrap();
            proptest::prop_assert_eq!(back.to_string(), s);
            proptest::prop_assert_eq!(back, p);
        }

        #[test]
        fn never_panics(s in "\\PC{0,40}") {
            if let Ok(p) = Purl::parse(&s) {
                proptest::prop_assert_eq!(p.canonical(), p.to_string());
            }
            let _ = Purl::parse(&format!("pkg:{s}"));
        }
    }
}
