"""Progress said by the code that knows it (pipeline/io/progress.py)."""
from pipeline.io.progress import reporting, say


def test_messages_reach_the_reporter_only_inside_the_block():
    said = []
    say("before")
    with reporting(said.append):
        say("tokenized 10 documents")
        with reporting(lambda message: said.append(f"inner: {message}")):
            say("vocabulary")
        say("encoded")
    say("after")
    assert said == ["tokenized 10 documents", "inner: vocabulary", "encoded"]
