"""Typed errors; each names the model, step, publish, bucket and chunk it concerns."""


class WeightpubError(Exception):
    """Base of the client's errors."""


class LayoutError(WeightpubError, ValueError):
    """The tensors or sizes cannot form a version; nothing was sent."""


class TensorError(WeightpubError, ValueError):
    """A tensor's dtype, memory layout or bytes cannot be published; nothing more is sent."""


class PublishError(WeightpubError):
    """Sending a version failed; no manifest was sent (transactional: the share was aborted)."""

    def __init__(self, message, model_id=None, step=None, publish_id=None, bucket=None, chunk=None):
        where = ["model %s" % model_id, "step %s" % step]
        if publish_id is not None:
            where.append("publish %s" % publish_id)
        if bucket is not None:
            where.append("bucket %s" % bucket)
        if chunk is not None:
            where.append("chunk %s" % chunk)
        super().__init__("%s: %s" % (", ".join(where), message))
        self.model_id = model_id
        self.step = step
        self.publish_id = publish_id
        self.bucket = bucket
        self.chunk = chunk
