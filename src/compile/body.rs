//! Lowering of each task kind to its `Body`: nested lists become blocks, loop and catch
//! variables extend the scope, and the kinds this runtime does not execute yet become an
//! `Unsupported` body naming the exact feature (raised at run time, never at compile time).

use super::compiler::Compiler;
use super::machine::{
    Body, Case, CatchBody, EmitSpec, ForBody, ForkBody, ProcessSpec, ProgramSpec, ScriptCode,
    TryBody,
};
use super::scope::Scope;
use crate::document::{
    CallTask, EventProperties, Process, RunTask, ScriptSource, Task, TaskKind, TaskList,
};
use crate::host::effects::process::ScriptLanguage;

impl Compiler<'_> {
    /// `list` is the task list holding `task`: switch cases jump within it.
    pub(super) fn body(&mut self, task: &Task, list: &TaskList, scope: &Scope) -> Body {
        let body = match &task.kind {
            TaskKind::Set(set) => self.template(&set.value, scope).map(Body::Set),
            TaskKind::Do(do_) => Some(Body::Do(self.block(&do_.do_, scope))),
            TaskKind::Switch(switch) => {
                let cases = switch
                    .cases
                    .iter()
                    .map(|case| Case {
                        when: case.when.as_ref().and_then(|w| self.expr(w, scope)),
                        then: self.transition(&case.then, list),
                    })
                    .collect();
                Some(Body::Switch(cases))
            }
            TaskKind::For(for_) => {
                let in_ = self.expr(&for_.in_, scope);
                let inner = scope.bind(&for_.each).bind(&for_.at);
                let while_ = for_.while_.as_ref().map(|w| self.expr(w, &inner));
                let body = self.block(&for_.do_, &inner);
                match (in_, while_) {
                    (Some(in_), None) => Some(Body::For(ForBody {
                        in_,
                        while_: None,
                        body,
                    })),
                    (Some(in_), Some(Some(while_))) => Some(Body::For(ForBody {
                        in_,
                        while_: Some(while_),
                        body,
                    })),
                    _ => None,
                }
            }
            TaskKind::Fork(fork) => Some(Body::Fork(ForkBody {
                branches: self.block(&fork.branches, scope),
                compete: fork.compete,
            })),
            TaskKind::Try(try_) => {
                let body = self.block(&try_.try_, scope);
                let catch = &try_.catch;
                let inner = scope.bind(catch.variable());
                let retry = catch.retry.as_ref().map(|r| self.retry(r, &inner));
                Some(Body::Try(Box::new(TryBody {
                    body,
                    catch: CatchBody {
                        filter: catch.errors.clone(),
                        when: catch.when.as_ref().and_then(|w| self.expr(w, &inner)),
                        except_when: catch
                            .except_when
                            .as_ref()
                            .and_then(|w| self.expr(w, &inner)),
                        retry: retry.flatten(),
                        do_: catch.do_.as_ref().map(|list| self.block(list, &inner)),
                    },
                })))
            }
            TaskKind::Raise(raise) => self.error_spec(&raise.error, scope).map(Body::Raise),
            TaskKind::Wait(wait) => self.duration(&wait.duration, scope).map(Body::Wait),
            TaskKind::Emit(emit) => Some(Body::Emit(self.emit(&emit.event, scope))),
            TaskKind::Run(run) => Some(self.run(run, scope)),
            TaskKind::Call(CallTask::Http(http)) => self
                .http(http, &task.pointer, scope)
                .map(|spec| Body::Http(Box::new(spec))),
            TaskKind::Call(CallTask::OpenApi(call)) => Some(self.openapi(call, scope)),
            TaskKind::Call(CallTask::Function(call)) => Some(self.function_call(call, task, scope)),
            TaskKind::Call(CallTask::Grpc(call)) => Some(self.grpc(call, task, scope)),
            TaskKind::Call(CallTask::AsyncApi(call)) => Some(self.asyncapi(call, scope)),
            TaskKind::Call(CallTask::Mcp(call)) => self
                .mcp(call, &task.pointer, scope)
                .map(|spec| Body::Mcp(Box::new(spec))),
            TaskKind::Call(CallTask::A2a(call)) => self
                .a2a(call, &task.pointer, scope)
                .map(|spec| Body::A2a(Box::new(spec))),
            TaskKind::Listen(listen) => self
                .listen(listen, scope)
                .map(|spec| Body::Listen(Box::new(spec))),
        };
        // A part that did not compile has a diagnostic already; the machine is never returned.
        body.unwrap_or_else(|| Body::Unsupported(String::from("this task did not compile")))
    }

    fn emit(&mut self, event: &EventProperties, scope: &Scope) -> EmitSpec {
        let mut field = |value: &Option<crate::document::StringOrExpr>| {
            value.as_ref().and_then(|v| self.string(v, scope))
        };
        let id = field(&event.id);
        let source = field(&event.source);
        let type_ = field(&event.type_);
        let time = field(&event.time);
        let subject = field(&event.subject);
        let datacontenttype = field(&event.datacontenttype);
        let dataschema = field(&event.dataschema);
        EmitSpec {
            id,
            source,
            type_,
            time,
            subject,
            datacontenttype,
            dataschema,
            data: event.data.as_ref().and_then(|d| self.template(d, scope)),
            extensions: event
                .extensions
                .iter()
                .filter_map(|(name, value)| self.template(value, scope).map(|t| (name.clone(), t)))
                .collect(),
        }
    }

    fn run(&mut self, run: &RunTask, scope: &Scope) -> Body {
        let (program, arguments, environment, stdin) = match &run.process {
            Process::Shell(shell) => (
                self.string(&shell.command, scope).map(ProgramSpec::Shell),
                &shell.arguments,
                &shell.environment,
                &shell.stdin,
            ),
            Process::Script(script) => {
                let language = match script.language.to_ascii_lowercase().as_str() {
                    "js" | "javascript" => ScriptLanguage::JavaScript,
                    "python" => ScriptLanguage::Python,
                    other => {
                        return Body::Unsupported(format!(
                            "scripts in `{other}` are not supported by this runtime (javascript or python)"
                        ));
                    }
                };
                let code = match &script.source {
                    ScriptSource::Inline(code) => Some(ScriptCode::Inline(code.clone())),
                    ScriptSource::External(resource) => self
                        .script_source(resource, scope)
                        .map(ScriptCode::External),
                };
                (
                    code.map(|code| ProgramSpec::Script { language, code }),
                    &script.arguments,
                    &script.environment,
                    &script.stdin,
                )
            }
            Process::Container(container) => return self.container(run, container, scope),
            Process::Workflow(workflow) => return self.subflow(run, workflow, scope),
        };
        let arguments = self.arguments(arguments.as_ref(), scope);
        let environment = environment.as_ref().map(|e| self.template(e, scope));
        let stdin = stdin.as_ref().map(|s| self.string(s, scope));
        match (program, arguments) {
            (Some(program), Some(arguments)) => Body::Process(ProcessSpec {
                program,
                arguments,
                environment: environment.flatten(),
                stdin: stdin.flatten(),
                await_: run.await_,
                return_: run.return_,
            }),
            _ => Body::Unsupported(String::from("this task did not compile")),
        }
    }
}
