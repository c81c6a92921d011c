//! JSON pointers (RFC 6901): how every stage names a place in a document.

/// Appends one reference token to a pointer, escaping `~` and `/`.
pub fn join(base: &str, token: &str) -> String {
    let mut out = String::with_capacity(base.len() + token.len() + 1);
    out.push_str(base);
    out.push('/');
    for c in token.chars() {
        match c {
            '~' => out.push_str("~0"),
            '/' => out.push_str("~1"),
            c => out.push(c),
        }
    }
    out
}

/// Appends an array index to a pointer.
pub fn join_index(base: &str, index: usize) -> String {
    format!("{base}/{index}")
}

/// The unescaped reference tokens of a pointer (`/a~1b/0` → `["a/b", "0"]`).
pub fn tokens(pointer: &str) -> impl Iterator<Item = String> + '_ {
    pointer
        .split('/')
        .skip(1)
        .map(|token| token.replace("~1", "/").replace("~0", "~"))
}

/// The pointer of the parent value (`/a/b` → `/a`, `/a` → ``), or `None` for the root.
pub fn parent(pointer: &str) -> Option<&str> {
    pointer.rfind('/').map(|i| &pointer[..i])
}

/// The pointer itself, then each enclosing pointer up to the root (`/a/b` → `/a/b`, `/a`, ``).
/// With a set of pointers, "is this place at or inside one of them" costs the depth of the
/// place, not the size of the set.
pub fn self_and_ancestors(pointer: &str) -> impl Iterator<Item = &str> + '_ {
    let mut next = Some(pointer);
    std::iter::from_fn(move || {
        let current = next?;
        next = parent(current);
        Some(current)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_unescapes_tokens() {
        let p = join(&join("", "do"), "a/b~c");
        assert_eq!(p, "/do/a~1b~0c");
        assert_eq!(tokens(&p).collect::<Vec<_>>(), vec!["do", "a/b~c"]);
        assert_eq!(parent(&p), Some("/do"));
        assert_eq!(parent(""), None);
        assert_eq!(join_index("/do", 3), "/do/3");
    }

    #[test]
    fn ancestors_end_at_the_root() {
        let all: Vec<&str> = self_and_ancestors("/do/1/a~1b").collect();
        assert_eq!(all, vec!["/do/1/a~1b", "/do/1", "/do", ""]);
        assert_eq!(self_and_ancestors("").collect::<Vec<_>>(), vec![""]);
    }
}
