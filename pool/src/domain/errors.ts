import { Schema } from "effect"

/**
 * The pool's domain errors. Each carries a human `error` message (the HTTP API answers `{error}` with the status
 * annotated here) and never an id, token or key that a caller should not see.
 */
export class NoIdleInstance extends Schema.TaggedError<NoIdleInstance>()("NoIdleInstance", {
  error: Schema.String,
}, { httpApiStatus: 503 }) {
  static readonly standard = () => new NoIdleInstance({ error: "No idle instances available. Try again in a few minutes." })
}

export class InvalidRequest extends Schema.TaggedError<InvalidRequest>()("InvalidRequest", {
  error: Schema.String,
}, { httpApiStatus: 400 }) {}

export class ProvisionFailed extends Schema.TaggedError<ProvisionFailed>()("ProvisionFailed", {
  error: Schema.String,
}, { httpApiStatus: 502 }) {}

export class IdempotencyConflict extends Schema.TaggedError<IdempotencyConflict>()("IdempotencyConflict", {
  error: Schema.String,
}, { httpApiStatus: 409 }) {}

export class InstanceNotFound extends Schema.TaggedError<InstanceNotFound>()("InstanceNotFound", {
  error: Schema.String,
}, { httpApiStatus: 404 }) {
  static readonly standard = () => new InstanceNotFound({ error: "Instance not found" })
}

/** The instance did not take a change (unreachable, or it refused). */
export class HostNotFound extends Schema.TaggedError<HostNotFound>()("HostNotFound", {
  error: Schema.String,
}, { httpApiStatus: 404 }) {
  static readonly standard = () => new HostNotFound({ error: "Host not found" })
}

export class ConfigureFailed extends Schema.TaggedError<ConfigureFailed>()("ConfigureFailed", {
  error: Schema.String,
}, { httpApiStatus: 502 }) {}

/** The instance is in no state to be changed (not claimed, or being claimed right now). */
export class NotConfigurable extends Schema.TaggedError<NotConfigurable>()("NotConfigurable", {
  error: Schema.String,
}, { httpApiStatus: 409 }) {}

export class Unauthorized extends Schema.TaggedError<Unauthorized>()("Unauthorized", {
  error: Schema.String,
}, { httpApiStatus: 401 }) {}

export class Forbidden extends Schema.TaggedError<Forbidden>()("Forbidden", {
  error: Schema.String,
}, { httpApiStatus: 403 }) {
  static readonly standard = () => new Forbidden({ error: "Invalid instance ID or token" })
}

export class ShuttingDown extends Schema.TaggedError<ShuttingDown>()("ShuttingDown", {
  error: Schema.String,
}, { httpApiStatus: 503 }) {
  static readonly standard = () => new ShuttingDown({ error: "The pool is shutting down. Try again in a moment." })
}

export type ClaimError = NoIdleInstance | InvalidRequest | ProvisionFailed | IdempotencyConflict | ShuttingDown

export class TemplateNotFound extends Schema.TaggedError<TemplateNotFound>()("TemplateNotFound", {
  error: Schema.String,
}, { httpApiStatus: 404 }) {
  static readonly standard = () => new TemplateNotFound({ error: "Template not found" })
}

export class TemplateExists extends Schema.TaggedError<TemplateExists>()("TemplateExists", {
  error: Schema.String,
}, { httpApiStatus: 409 }) {}
