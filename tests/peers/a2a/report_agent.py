"""An A2A agent built with the official A2A SDK (a2a-sdk 0.3, JSON-RPC), for the
interoperability tests and the bundled example.

    PORT=8124 python3 report_agent.py                 # card at http://127.0.0.1:8124/.well-known/agent-card.json
    PORT=8124 AGENT_TOKEN=s3cret python3 report_agent.py  # the card requires a bearer token

For every message it creates a task, reports that it is working, adds a `report` artifact whose
text is "Report: " followed by the message's text, and completes the task. A message whose text
is `fail` fails the task instead.
"""

import os

import uvicorn
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.apps import A2AStarletteApplication
from a2a.server.events import EventQueue
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.tasks import InMemoryTaskStore, TaskUpdater
from a2a.types import (
    AgentCapabilities,
    AgentCard,
    AgentSkill,
    HTTPAuthSecurityScheme,
    Part,
    SecurityScheme,
    TaskState,
    TextPart,
)
from a2a.utils import new_agent_text_message, new_task


class ReportAgent(AgentExecutor):
    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        text = context.get_user_input()
        task = context.current_task or new_task(context.message)
        await event_queue.enqueue_event(task)
        updater = TaskUpdater(event_queue, task.id, task.context_id)
        await updater.update_status(
            TaskState.working,
            new_agent_text_message("writing the report", task.context_id, task.id),
        )
        if text.strip() == "fail":
            await updater.failed(new_agent_text_message("cannot report", task.context_id, task.id))
            return
        await updater.add_artifact([Part(root=TextPart(text=f"Report: {text}"))], name="report")
        await updater.complete()

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        task = context.current_task
        updater = TaskUpdater(event_queue, task.id, task.context_id)
        await updater.cancel()


class RequireBearer:
    """Refuses JSON-RPC calls without the expected bearer token (the card stays public)."""

    def __init__(self, app, token):
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["method"] == "POST":
            headers = dict(scope["headers"])
            if headers.get(b"authorization") != self.expected:
                await send({"type": "http.response.start", "status": 401,
                            "headers": [(b"content-type", b"text/plain")]})
                await send({"type": "http.response.body", "body": b"missing or wrong token"})
                return
        await self.app(scope, receive, send)


def main() -> None:
    port = int(os.environ["PORT"])
    token = os.environ.get("AGENT_TOKEN")
    card = AgentCard(
        name="Report agent",
        description="Writes a short report about the text it is sent.",
        url=f"http://127.0.0.1:{port}/",
        version="1.0.0",
        default_input_modes=["text"],
        default_output_modes=["text"],
        capabilities=AgentCapabilities(streaming=True),
        skills=[AgentSkill(id="report", name="Report", description="Writes a report",
                           tags=["report"])],
    )
    if token:
        card.security_schemes = {
            "bearer": SecurityScheme(root=HTTPAuthSecurityScheme(scheme="bearer"))
        }
        card.security = [{"bearer": []}]
    handler = DefaultRequestHandler(agent_executor=ReportAgent(), task_store=InMemoryTaskStore())
    app = A2AStarletteApplication(agent_card=card, http_handler=handler).build()
    if token:
        app = RequireBearer(app, token)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()
