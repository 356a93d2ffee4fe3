"""Reading TensorBoard event files back with TensorBoard's own reader, for the tests of
the opt-in logs. Not collected by pytest."""
import numpy as np


def scalars(folder):
    """``{tag: [(step, value), ...]}`` of the numeric summaries in ``folder`` (Keras
    writes its scalars as tensors)."""
    import tensorflow as tf
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(folder))
    events.Reload()
    found = {}
    for tag in events.Tags()["tensors"]:
        values = [(e.step, np.asarray(tf.make_ndarray(e.tensor_proto)))
                  for e in events.Tensors(tag)]
        if all(value.dtype.kind == "f" and value.size == 1 for _, value in values):
            found[tag] = [(step, float(value)) for step, value in values]
    return found
