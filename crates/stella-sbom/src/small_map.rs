//! A small sorted string map: what purl qualifiers and component hashes need (a handful of
//! entries) without a B-tree node per component.

use std::ops::Index;

/// Sorted `(key, value)` pairs with unique keys.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SmallMap(Vec<(String, String)>);

impl SmallMap {
    /// An empty map.
    pub fn new() -> Self {
        SmallMap(Vec::new())
    }
    /// An empty map with room for `n` pairs.
    pub fn with_capacity(n: usize) -> Self {
        SmallMap(Vec::with_capacity(n))
    }
    /// Inserts or replaces; returns the previous value.
    pub fn insert(&mut self, key: String, value: String) -> Option<String> {
        match self.0.binary_search_by(|(k, _)| k.as_str().cmp(&key)) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                self.0.insert(i, (key, value));
                None
            }
        }
    }
    /// The value for `key`.
    pub fn get(&self, key: &str) -> Option<&String> {
        self.0
            .binary_search_by(|(k, _)| k.as_str().cmp(key))
            .ok()
            .map(|i| &self.0[i].1)
    }
    /// Removes `key`, returning its value.
    pub fn take(&mut self, key: &str) -> Option<String> {
        self.0
            .binary_search_by(|(k, _)| k.as_str().cmp(key))
            .ok()
            .map(|i| self.0.remove(i).1)
    }
    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }
    /// Entries in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.0.iter().map(|(k, v)| (k, v))
    }
    /// Releases spare capacity (small maps are many; their slack adds up).
    pub fn shrink_to_fit(&mut self) {
        self.0.shrink_to_fit();
    }
    /// Number of entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Index<&str> for SmallMap {
    type Output = String;
    fn index(&self, key: &str) -> &String {
        match self.get(key) {
            Some(v) => v,
            None => panic!("no entry `{key}`"),
        }
    }
}

impl<'a> IntoIterator for &'a SmallMap {
    type Item = (&'a String, &'a String);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (String, String)>,
        fn(&'a (String, String)) -> (&'a String, &'a String),
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl FromIterator<(String, String)> for SmallMap {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> Self {
        let mut m = SmallMap::new();
        for (k, v) in iter {
            m.insert(k, v);
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_unique() {
        let mut m = SmallMap::new();
        assert_eq!(m.insert("b".into(), "2".into()), None);
        m.insert("a".into(), "1".into());
        assert_eq!(m.insert("b".into(), "3".into()), Some("2".into()));
        let v: Vec<_> = m.iter().collect();
        assert_eq!(
            v,
            [
                (&"a".to_string(), &"1".to_string()),
                (&"b".to_string(), &"3".to_string())
            ]
        );
        assert_eq!(m["b"], "3");
    }
}

/// A small sorted set of strings: one component's dependencies, usually a handful.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SmallSet(Vec<String>);

impl SmallSet {
    /// An empty set.
    pub fn new() -> Self {
        SmallSet(Vec::new())
    }
    /// Inserts; returns whether it was new.
    pub fn insert(&mut self, v: String) -> bool {
        match self.0.binary_search(&v) {
            Ok(_) => false,
            Err(i) => {
                self.0.insert(i, v);
                true
            }
        }
    }
    /// Whether `v` is present.
    pub fn contains(&self, v: &str) -> bool {
        self.0.binary_search_by(|x| x.as_str().cmp(v)).is_ok()
    }
    /// Keeps the entries for which `f` is true.
    pub fn retain(&mut self, f: impl FnMut(&String) -> bool) {
        self.0.retain(f);
    }
    /// Entries in order.
    pub fn iter(&self) -> std::slice::Iter<'_, String> {
        self.0.iter()
    }
    /// Number of entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Releases spare capacity.
    pub fn shrink_to_fit(&mut self) {
        self.0.shrink_to_fit();
    }
}

impl Extend<String> for SmallSet {
    fn extend<I: IntoIterator<Item = String>>(&mut self, iter: I) {
        for v in iter {
            self.insert(v);
        }
    }
}

impl FromIterator<String> for SmallSet {
    fn from_iter<I: IntoIterator<Item = String>>(iter: I) -> Self {
        let mut s = SmallSet::new();
        s.extend(iter);
        s
    }
}

impl<'a> IntoIterator for &'a SmallSet {
    type Item = &'a String;
    type IntoIter = std::slice::Iter<'a, String>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}
