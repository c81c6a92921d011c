//! Lowering of `listen`: the consumption strategy (`one`, `any` with its `until`, `all`), each
//! event filter's attribute matchers and correlation keys, the `read` mode and the `foreach`
//! iterator. Literal filter values that look like regular expressions are compiled here, once.

use std::sync::Arc;

use regex::Regex;
use serde_json::Value;

use super::compiler::Compiler;
use super::machine::{Compiled, Tmpl, Transform};
use super::scope::Scope;
use crate::document::{
    ConsumptionStrategy, Correlation, EventFilter, EventProperties, ListenRead, ListenTask,
    StringOrExpr, SubscriptionIterator, Until, ValueTemplate,
};
use crate::expr::strip_expression;

/// A compiled `listen` task.
#[derive(Debug)]
pub(crate) struct ListenSpec {
    pub strategy: StrategySpec,
    pub read: ListenRead,
    pub foreach: Option<ForeachSpec>,
}

/// Which events complete the listen.
#[derive(Debug)]
pub(crate) enum StrategySpec {
    /// One event for each filter, in any order.
    All(Vec<FilterSpec>),
    /// Events matching any filter (every event when there is none), until `until` says stop;
    /// without `until` the first match completes it.
    Any {
        filters: Vec<FilterSpec>,
        until: Option<Box<UntilSpec>>,
    },
    One(FilterSpec),
}

#[derive(Debug)]
pub(crate) enum UntilSpec {
    /// Evaluated on the array of events consumed so far (as `read` presents them).
    Expr(Compiled),
    /// Events that stop the listen; they are not part of its output.
    Events(StrategySpec),
}

/// One event filter: attribute matchers and correlation keys.
#[derive(Debug)]
pub(crate) struct FilterSpec {
    pub with: Vec<(String, ValueMatch)>,
    pub correlate: Vec<CorrelationSpec>,
}

/// How one attribute (or `data`) of an event is matched.
#[derive(Debug)]
pub(crate) enum ValueMatch {
    /// A literal string: equal, or a full match of it as a regular expression.
    Pattern(Pattern),
    /// A runtime expression evaluated with the attribute's value as input: `true` matches, any
    /// other non-boolean result must equal the attribute.
    Predicate(Tmpl),
    /// A structured value (object, array, number...) whose leaves may be expressions: evaluated
    /// with the attribute as input, then the attribute must contain it (objects by subset, string
    /// leaves as patterns).
    Shape(Tmpl),
}

/// A literal string value of a filter, with its regular expression when it is one.
#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    pub text: Arc<str>,
    pub regex: Option<Regex>,
}

impl Pattern {
    pub(crate) fn new(text: &str) -> Pattern {
        let regex = looks_like_regex(text)
            .then(|| Regex::new(&format!("^(?:{text})$")).ok())
            .flatten();
        Pattern {
            text: Arc::from(text),
            regex,
        }
    }

    pub(crate) fn matches(&self, value: &str) -> bool {
        *self.text == *value
            || self
                .regex
                .as_ref()
                .is_some_and(|regex| regex.is_match(value))
    }
}

/// Only strings using regex syntax beyond `.` are treated as regular expressions: an event type
/// such as `com.example.order.paid` must not also match `comXexample...`; its dots stay dots.
fn looks_like_regex(text: &str) -> bool {
    text.contains([
        '*', '+', '?', '[', ']', '(', ')', '|', '^', '$', '{', '}', '\\',
    ])
}

/// `correlate.<key>`: `from` extracts the value from the event envelope; `expect` (a constant
/// or an expression on the task input) is what it must be; without it the first value seen sets
/// the expectation for every later event of the listen.
#[derive(Debug)]
pub(crate) struct CorrelationSpec {
    pub key: String,
    pub from: Compiled,
    pub expect: Option<Tmpl>,
}

/// `foreach`: each consumed event runs `do` (when present) with the item and index bound;
/// `output.as` shapes each item's result and `export.as` updates `$context` after it.
#[derive(Debug)]
pub(crate) struct ForeachSpec {
    pub body: Option<super::machine::BlockId>,
    pub output_as: Option<Transform>,
    pub export_as: Option<Transform>,
}

impl Compiler<'_> {
    pub(super) fn listen(&mut self, listen: &ListenTask, scope: &Scope) -> Option<ListenSpec> {
        let strategy = self.strategy(&listen.to, scope);
        let foreach = listen
            .foreach
            .as_ref()
            .map(|iterator| self.foreach(iterator, scope));
        Some(ListenSpec {
            strategy: strategy?,
            read: listen.read,
            foreach: match foreach {
                Some(foreach) => Some(foreach?),
                None => None,
            },
        })
    }

    pub(super) fn strategy(
        &mut self,
        strategy: &ConsumptionStrategy,
        scope: &Scope,
    ) -> Option<StrategySpec> {
        match strategy {
            ConsumptionStrategy::All { filters, .. } => {
                let filters: Vec<_> = filters.iter().map(|f| self.filter(f, scope)).collect();
                Some(StrategySpec::All(
                    filters.into_iter().collect::<Option<_>>()?,
                ))
            }
            ConsumptionStrategy::Any { filters, until, .. } => {
                let filters: Vec<_> = filters.iter().map(|f| self.filter(f, scope)).collect();
                let until = match until.as_deref() {
                    None => None,
                    Some(Until::Expression(expression)) => {
                        Some(Box::new(UntilSpec::Expr(self.expr(expression, scope)?)))
                    }
                    Some(Until::Events(strategy)) => {
                        Some(Box::new(UntilSpec::Events(self.strategy(strategy, scope)?)))
                    }
                };
                Some(StrategySpec::Any {
                    filters: filters.into_iter().collect::<Option<_>>()?,
                    until,
                })
            }
            ConsumptionStrategy::One { filter, .. } => {
                self.filter(filter, scope).map(StrategySpec::One)
            }
        }
    }

    fn filter(&mut self, filter: &EventFilter, scope: &Scope) -> Option<FilterSpec> {
        let with = match &filter.with {
            Some(properties) => self.matchers(properties, scope)?,
            None => Vec::new(),
        };
        let correlate: Vec<_> = filter
            .correlate
            .iter()
            .map(|c| self.correlation(c, scope))
            .collect();
        Some(FilterSpec {
            with,
            correlate: correlate.into_iter().collect::<Option<_>>()?,
        })
    }

    fn matchers(
        &mut self,
        properties: &EventProperties,
        scope: &Scope,
    ) -> Option<Vec<(String, ValueMatch)>> {
        let mut matchers = Vec::new();
        let mut ok = true;
        let standard = [
            ("id", &properties.id),
            ("source", &properties.source),
            ("type", &properties.type_),
            ("time", &properties.time),
            ("subject", &properties.subject),
            ("datacontenttype", &properties.datacontenttype),
            ("dataschema", &properties.dataschema),
        ];
        for (name, value) in standard {
            let Some(value) = value else { continue };
            match self.string_match(value, scope) {
                Some(matcher) => matchers.push((name.to_owned(), matcher)),
                None => ok = false,
            }
        }
        let others = properties
            .data
            .iter()
            .map(|data| ("data", data))
            .chain(properties.extensions.iter().map(|(n, v)| (n.as_str(), v)));
        for (name, value) in others {
            match self.value_match(value, scope) {
                Some(matcher) => matchers.push((name.to_owned(), matcher)),
                None => ok = false,
            }
        }
        ok.then_some(matchers)
    }

    fn string_match(&mut self, value: &StringOrExpr, scope: &Scope) -> Option<ValueMatch> {
        match value {
            StringOrExpr::Literal { value, .. } => Some(ValueMatch::Pattern(Pattern::new(value))),
            StringOrExpr::Expression(_) => self.string(value, scope).map(ValueMatch::Predicate),
        }
    }

    fn value_match(&mut self, value: &ValueTemplate, scope: &Scope) -> Option<ValueMatch> {
        match &value.value {
            Value::String(text) if strip_expression(text).is_some() => {
                self.template(value, scope).map(ValueMatch::Predicate)
            }
            Value::String(text) => Some(ValueMatch::Pattern(Pattern::new(text))),
            _ => self.template(value, scope).map(ValueMatch::Shape),
        }
    }

    fn correlation(&mut self, correlation: &Correlation, scope: &Scope) -> Option<CorrelationSpec> {
        let from = self.expr(&correlation.from, scope);
        let expect = match &correlation.expect {
            None => None,
            Some(expect) => {
                Some(self.value(&Value::String(expect.text.clone()), &expect.pointer, scope)?)
            }
        };
        Some(CorrelationSpec {
            key: correlation.key.clone(),
            from: from?,
            expect,
        })
    }

    pub(super) fn foreach(
        &mut self,
        iterator: &SubscriptionIterator,
        scope: &Scope,
    ) -> Option<ForeachSpec> {
        let inner = scope.bind(&iterator.item).bind(&iterator.at);
        let body = iterator.do_.as_ref().map(|list| self.block(list, &inner));
        let output_as = match iterator.output.as_ref().and_then(|o| o.as_.as_ref()) {
            Some(transform) => Some(self.transform(transform, &inner)?),
            None => None,
        };
        let export_as = match iterator.export.as_ref().and_then(|e| e.as_.as_ref()) {
            Some(transform) => Some(self.transform(transform, &inner)?),
            None => None,
        };
        Some(ForeachSpec {
            body,
            output_as,
            export_as,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_types_are_literal_and_regex_syntax_is_anchored() {
        let literal = Pattern::new("com.example.order.paid");
        assert!(literal.matches("com.example.order.paid"));
        assert!(!literal.matches("comXexample.order.paid"));
        let regex = Pattern::new("com\\.example\\.order\\..*");
        assert!(regex.matches("com.example.order.paid"));
        assert!(!regex.matches("xcom.example.order.paid"));
        let alternatives = Pattern::new("paid|shipped");
        assert!(alternatives.matches("shipped"));
        assert!(!alternatives.matches("paid-and-shipped"));
        // Not a valid regex: only equality.
        let broken = Pattern::new("a(b");
        assert!(broken.matches("a(b"));
        assert!(!broken.matches("ab"));
    }
}
