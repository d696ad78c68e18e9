"""A small traced agent, as a GenAI app would write one with the mlflow
library: an AGENT span around a RETRIEVER span. Shared by the seeds that
need traces in a store."""

import mlflow


def log_agent_traces(questions, prefix=""):
    """Answers each question once, each as one trace in the active
    experiment, and waits until the traces are written."""

    @mlflow.trace(name=f"{prefix}agent", span_type="AGENT")
    def agent(question):
        with mlflow.start_span(name=f"{prefix}retrieve", span_type="RETRIEVER") as span:
            span.set_inputs({"q": question})
            span.set_outputs([f"doc about {question}"])
        return {"answer": len(question)}

    for question in questions:
        agent(question)
    mlflow.flush_trace_async_logging()
