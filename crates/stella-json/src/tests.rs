//! Output equality with serde_json's compact writer.

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde::Serialize;
use serde_json::Value;

fn same<T: Serialize + ?Sized>(v: &T) {
    let theirs = serde_json::to_vec(v).map_err(|e| e.to_string());
    let ours = crate::to_vec(v).map_err(|e| e.to_string());
    match (theirs, ours) {
        (Ok(a), Ok(b)) => assert_eq!(
            String::from_utf8_lossy(&a),
            String::from_utf8_lossy(&b),
            "output differs"
        ),
        (Err(_), Err(_)) => {}
        (a, b) => panic!("serde_json: {a:?}, stella-json: {b:?}"),
    }
}

#[derive(Serialize)]
enum E {
    Unit,
    New(u8),
    Tuple(i32, String),
    EmptyTuple(),
    Struct { a: Option<f64>, b: Vec<u8> },
    EmptyStruct {},
}

#[derive(Serialize)]
struct Unit;

#[derive(Serialize)]
struct Newtype(String);

#[derive(Serialize)]
struct Tuple(u8, &'static str);

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Record {
    vulnerability_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    score: Option<f32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    aliases: Vec<String>,
    nothing: Option<bool>,
    unit: (),
    u: Unit,
    n: Newtype,
    t: Tuple,
    enums: Vec<E>,
    by_int: BTreeMap<i64, u128>,
    by_bool: BTreeMap<bool, i8>,
    by_char: BTreeMap<char, char>,
    by_unit_variant: BTreeMap<K, f64>,
    bytes: serde_bytes_like::Bytes,
    nan: f64,
    inf: f32,
}

#[derive(Serialize, PartialEq, Eq, PartialOrd, Ord)]
enum K {
    Low,
    High,
}

mod serde_bytes_like {
    /// Serialises as bytes (serde_json writes an array of numbers).
    pub struct Bytes(pub Vec<u8>);
    impl serde::Serialize for Bytes {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(&self.0)
        }
    }
}

#[test]
fn every_shape_serde_derives() {
    let r = Record {
        vulnerability_id: "CVE-2024-1\u{1}\"\\/\u{7f}é\u{2028}".into(),
        score: Some(7.5),
        aliases: vec![],
        nothing: None,
        unit: (),
        u: Unit,
        n: Newtype("x\ty".into()),
        t: Tuple(1, "two"),
        enums: vec![
            E::Unit,
            E::New(3),
            E::Tuple(-4, "\n".into()),
            E::EmptyTuple(),
            E::Struct {
                a: Some(0.1),
                b: vec![],
            },
            E::Struct {
                a: None,
                b: vec![1, 2],
            },
            E::EmptyStruct {},
        ],
        by_int: [(-1, u128::MAX), (7, 0)].into_iter().collect(),
        by_bool: [(true, 1), (false, -1)].into_iter().collect(),
        by_char: [('a', '"'), ('\n', 'b')].into_iter().collect(),
        by_unit_variant: [(K::Low, 1e300), (K::High, -0.0)].into_iter().collect(),
        bytes: serde_bytes_like::Bytes(vec![0, 255]),
        nan: f64::NAN,
        inf: f32::INFINITY,
    };
    same(&r);
    same(&Vec::<u8>::new());
    same(&BTreeMap::<String, u8>::new());
    same(&(1u8, "a"));
    same(&Some(E::Unit));
}

#[test]
fn keys_json_cannot_hold_are_errors_in_both() {
    same(&[(vec![1u8], 1u8)].into_iter().collect::<BTreeMap<_, _>>());
    same(&[(Some(1u8), 1u8)].into_iter().collect::<BTreeMap<_, _>>());
    same(&[((), 1u8)].into_iter().collect::<BTreeMap<_, _>>());
}

#[test]
fn every_byte_escapes_as_serde_json_escapes_it() {
    for b in 0u8..0x80 {
        let s = format!("ab{}cdefghijklmnop{}", b as char, b as char);
        same(&s);
        same(&(b as char).to_string());
    }
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        any::<String>().prop_map(Value::String),
        "[\\x00-\\x7f]{0,40}".prop_map(Value::String),
        "[\"\\\\a-z\\n\\t\\x01é€😀]{0,40}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec(("[a-z\"\\\\\\x00-\\x1f]{0,6}", inner), 0..8)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn arbitrary_values_come_out_as_serde_json_writes_them(v in value()) {
        let theirs = serde_json::to_vec(&v).unwrap();
        let ours = crate::to_vec(&v).unwrap();
        prop_assert_eq!(String::from_utf8_lossy(&theirs), String::from_utf8_lossy(&ours));
    }

    #[test]
    fn arbitrary_strings_come_out_as_serde_json_writes_them(s in any::<String>()) {
        prop_assert_eq!(serde_json::to_vec(&s).unwrap(), crate::to_vec(&s).unwrap());
    }
}

/// A value that hands over JSON it wrote before, as the matcher's memo does.
struct Kept(std::sync::Arc<str>);
impl Serialize for Kept {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if crate::writing() {
            crate::write_raw(s, &self.0)
        } else {
            s.serialize_str("not raw")
        }
    }
}

#[test]
fn raw_json_is_written_verbatim_by_this_writer_only() {
    let kept = Kept(std::sync::Arc::from(r#"{"a":[1,"x"]}"#));
    let v = vec![kept];
    assert_eq!(crate::to_vec(&v).unwrap(), br#"[{"a":[1,"x"]}]"#);
    // other serializers are told to write the value themselves
    assert_eq!(serde_json::to_string(&v).unwrap(), r#"["not raw"]"#);
    assert!(!crate::writing());
    // a nested call (a value writing its JSON once) leaves the outer one writing raw
    struct Nested(Kept);
    impl Serialize for Nested {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let inner = crate::to_vec(&1u8).map_err(serde::ser::Error::custom)?;
            assert_eq!(inner, b"1");
            self.0.serialize(s)
        }
    }
    let n = [Nested(Kept(std::sync::Arc::from("true")))];
    assert_eq!(crate::to_vec(&n).unwrap(), b"[true]");
}
