//! The compile-time scope: the names of the jq variables an expression may see, in the exact
//! order the runtime lays their values out (the runtime arguments first, then the variables
//! bound by enclosing `for` and `catch`, outermost first).

/// The runtime arguments, always present, in slot order.
pub(crate) const BASE_VARS: [&str; 8] = [
    "context",
    "input",
    "output",
    "secrets",
    "task",
    "workflow",
    "runtime",
    "authorization",
];

/// Slots of the runtime arguments in the variable vector.
pub(crate) const CONTEXT: usize = 0;
pub(crate) const INPUT: usize = 1;
pub(crate) const OUTPUT: usize = 2;
pub(crate) const SECRETS: usize = 3;
pub(crate) const TASK: usize = 4;
pub(crate) const WORKFLOW: usize = 5;
pub(crate) const RUNTIME: usize = 6;
pub(crate) const AUTHORIZATION: usize = 7;

/// Variable names, slot by slot. A name bound again (a nested loop reusing `item`, a loop
/// variable called `input`) hides the earlier slot: the earlier name is replaced by one no jq
/// code can mention, so the newest binding wins, as in jq.
#[derive(Debug, Clone)]
pub(crate) struct Scope {
    names: Vec<String>,
}

impl Scope {
    /// The scope of a top-level expression: the runtime arguments only.
    pub(crate) fn base() -> Scope {
        Scope {
            names: BASE_VARS.iter().map(|name| name.to_string()).collect(),
        }
    }

    /// This scope plus one variable, in the next slot.
    pub(crate) fn bind(&self, name: &str) -> Scope {
        let mut names = self.names.clone();
        for (slot, existing) in names.iter_mut().enumerate() {
            if existing == name {
                // A control character cannot appear in a jq identifier.
                *existing = format!("\u{1}hidden{slot}");
            }
        }
        names.push(name.to_string());
        Scope { names }
    }

    /// The names, for `Expr::compile` and `Template::compile`.
    pub(crate) fn vars(&self) -> Vec<&str> {
        self.names.iter().map(String::as_str).collect()
    }

    /// How many values the runtime frame holds beyond the runtime arguments.
    #[cfg(test)]
    pub(crate) fn frame_len(&self) -> usize {
        self.names.len() - BASE_VARS.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::{Expr, Val};

    #[test]
    fn bound_names_follow_the_runtime_arguments() {
        let scope = Scope::base().bind("item").bind("index");
        assert_eq!(scope.frame_len(), 2);
        let vars = scope.vars();
        assert_eq!(vars[CONTEXT], "context");
        assert_eq!(vars[7], "authorization");
        assert_eq!(&vars[8..], ["item", "index"]);
    }

    #[test]
    fn rebinding_hides_the_outer_slot() {
        let scope = Scope::base().bind("item").bind("item");
        let vars = scope.vars();
        let expr = Expr::compile("$item", &vars).unwrap_or_else(|e| panic!("{e:?}"));
        let mut values = vec![Val::Null; 8];
        values.push(Val::from(1isize));
        values.push(Val::from(2isize));
        assert_eq!(expr.eval(Val::Null, &values), Ok(Val::from(2isize)));
        // A loop variable named like a runtime argument hides it too.
        let scope = Scope::base().bind("input");
        let expr = Expr::compile("$input", &scope.vars()).unwrap_or_else(|e| panic!("{e:?}"));
        let mut values = vec![Val::Null; 8];
        values.push(Val::from(7isize));
        assert_eq!(expr.eval(Val::Null, &values), Ok(Val::from(7isize)));
    }
}
