//! Events: CloudEvent properties (emitted or filtered on), event filters with correlation,
//! consumption strategies (`listen.to`, `schedule.on`), subscription iterators, and extensions.

use serde::Serialize;

use super::common::{Expression, StringOrExpr, ValueTemplate};
use super::policy::{Export, Output};
use super::task::TaskList;

/// CloudEvent attributes. In `emit` they describe the event to send; in a filter each present
/// property must match (values may be literals, regexes or expressions).
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct EventProperties {
    pub id: Option<StringOrExpr>,
    pub source: Option<StringOrExpr>,
    pub type_: Option<StringOrExpr>,
    pub time: Option<StringOrExpr>,
    pub subject: Option<StringOrExpr>,
    pub datacontenttype: Option<StringOrExpr>,
    pub dataschema: Option<StringOrExpr>,
    pub data: Option<ValueTemplate>,
    /// Any other attribute (CloudEvents extension attributes), in document order.
    pub extensions: Vec<(String, ValueTemplate)>,
    /// Pointer of the whole properties object; the compiler may walk it as one template.
    pub pointer: String,
}

/// `{ with, correlate }`: which events a listener accepts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventFilter {
    pub with: Option<EventProperties>,
    pub correlate: Vec<Correlation>,
    pub pointer: String,
}

/// One `correlate` entry: the key, how to extract its value from an event, and what to expect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Correlation {
    pub key: String,
    pub from: Expression,
    pub expect: Option<Expression>,
    pub pointer: String,
}

/// Which events to consume: all of them, any of them (optionally until something), or one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum ConsumptionStrategy {
    All {
        filters: Vec<EventFilter>,
        pointer: String,
    },
    Any {
        filters: Vec<EventFilter>,
        until: Option<Box<Until>>,
        pointer: String,
    },
    One {
        filter: EventFilter,
        pointer: String,
    },
}

impl ConsumptionStrategy {
    pub fn pointer(&self) -> &str {
        match self {
            ConsumptionStrategy::All { pointer, .. }
            | ConsumptionStrategy::Any { pointer, .. }
            | ConsumptionStrategy::One { pointer, .. } => pointer,
        }
    }
}

/// `any.until`: an expression over the consumed events, or events whose arrival stops listening.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Until {
    Expression(Expression),
    Events(ConsumptionStrategy),
}

/// How `listen` presents each consumed event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub enum ListenRead {
    #[default]
    Data,
    Envelope,
    Raw,
}

/// `foreach` of a listen task or AsyncAPI subscription: runs `do` for each consumed item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubscriptionIterator {
    /// Item variable name, `item` when absent.
    pub item: String,
    /// Index variable name, `index` when absent.
    pub at: String,
    pub do_: Option<TaskList>,
    pub output: Option<Output>,
    pub export: Option<Export>,
    pub pointer: String,
}

/// The task type an extension applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ExtensionTarget {
    Call,
    Composite,
    Emit,
    For,
    Listen,
    Raise,
    Run,
    Set,
    Switch,
    Try,
    Wait,
    All,
}

impl ExtensionTarget {
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "call" => ExtensionTarget::Call,
            "composite" => ExtensionTarget::Composite,
            "emit" => ExtensionTarget::Emit,
            "for" => ExtensionTarget::For,
            "listen" => ExtensionTarget::Listen,
            "raise" => ExtensionTarget::Raise,
            "run" => ExtensionTarget::Run,
            "set" => ExtensionTarget::Set,
            "switch" => ExtensionTarget::Switch,
            "try" => ExtensionTarget::Try,
            "wait" => ExtensionTarget::Wait,
            "all" => ExtensionTarget::All,
            _ => return None,
        })
    }
}

/// One `use.extensions` entry: tasks run before/after every task of the extended type.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Extension {
    pub name: String,
    pub extend: ExtensionTarget,
    pub when: Option<Expression>,
    pub before: Option<TaskList>,
    pub after: Option<TaskList>,
    pub pointer: String,
}
