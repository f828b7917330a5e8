/**
 * In-memory stand-in for xmtp-node-go's v3 gRPC API (h2c on loopback), for tests only.
 *
 * Real `@xmtp/node-sdk` clients created with `{ env: "local", apiUrl }` register, create groups and DMs, and
 * exchange MLS-encrypted messages through it. It validates nothing (the real node checks identity updates and key
 * packages): it tests our code against the real libxmtp client, not node behaviour.
 *
 * Derived from the project's research reference (`xmtp-fake-node.mjs`), including its two fixes: subscriptions
 * replay stored messages after the subscriber's cursor (libxmtp re-subscribes with a cursor; without the replay a
 * message sent right after an add is sometimes lost), and a client cancelling an in-flight call never crashes the
 * process.
 *
 * Over 400 lines: one gRPC service (identity, groups, welcomes, subscriptions) that is only useful whole.
 */
import http2 from "node:http2"
import { createRequire } from "node:module"

const require = createRequire(import.meta.url)

/** The subset of a ts-proto message codec the fake needs. */
interface Codec<T = any> {
  decode(bytes: Uint8Array): T
  encode(message: T): { finish(): Uint8Array }
  fromPartial(partial: unknown): T
}
/** `long` values as ts-proto decodes them (uint64 ids / cursors). */
interface LongValue {
  gt(other: LongValue): boolean
  lt(other: LongValue): boolean
  isZero(): boolean
}
interface LongStatic {
  fromNumber(n: number): LongValue
  fromString(s: string): LongValue
  ZERO: LongValue
  UZERO: LongValue
}

// The package `exports` only ".", whose ESM build does not load in plain Node: load the CJS codecs by path.
const protoBase = require.resolve("@xmtp/proto").replace(/ts\/dist\/cjs\/index\.js$/, "")
const mls = require(`${protoBase}ts/dist/cjs/mls/api/v1/mls.pb.js`) as Record<string, Codec>
const identity = require(`${protoBase}ts/dist/cjs/identity/api/v1/identity.pb.js`) as Record<string, Codec>
const Long = require("long") as LongStatic

function codec(module: Record<string, Codec>, name: string): Codec {
  const found = module[name]
  if (!found) throw new Error(`@xmtp/proto has no codec ${name}: the pinned version changed`)
  return found
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex")
const nowNs = (): LongValue => Long.fromString((BigInt(Date.now()) * 1_000_000n).toString())

// ---------- just enough TLS / MLS parsing ----------

/** MLS variable-length vector header (RFC 9420 §2.1.2). */
function readVarLen(buf: Buffer, off: number): [number, number] {
  const first = buf[off] ?? 0
  const prefix = first >> 6
  if (prefix === 0) return [first & 0x3f, off + 1]
  if (prefix === 1) return [((first & 0x3f) << 8) | (buf[off + 1] ?? 0), off + 2]
  if (prefix === 2) return [buf.readUInt32BE(off) & 0x3fffffff, off + 4]
  throw new Error("bad MLS varint")
}
function readVec(buf: Buffer, off: number): [Buffer, number] {
  const [len, start] = readVarLen(buf, off)
  return [buf.subarray(start, start + len), start + len]
}
/** KeyPackage: version u16, suite u16, init_key<V>, leaf{encryption_key<V>, signature_key<V> = installation key}. */
function installationKeyFromKeyPackage(keyPackage: Uint8Array): Buffer {
  const buf = Buffer.from(keyPackage)
  let off = 4
  ;[, off] = readVec(buf, off)
  ;[, off] = readVec(buf, off)
  const [signatureKey] = readVec(buf, off)
  return Buffer.from(signatureKey)
}
/** MLSMessage: version u16, wire_format u16, then a Public/PrivateMessage that both start with group_id<V>. */
function groupInfoFromMlsMessage(data: Uint8Array): { groupId: Buffer; isCommit: boolean } {
  const buf = Buffer.from(data)
  const wire = buf.readUInt16BE(2)
  const [groupId, afterGroupId] = readVec(buf, 4)
  let off = afterGroupId + 8 // epoch
  let contentType: number | undefined
  if (wire === 2) contentType = buf[off]
  else if (wire === 1) {
    const senderType = buf[off] ?? 0
    off += 1
    if (senderType === 1 || senderType === 2) off += 4
    ;[, off] = readVec(buf, off)
    contentType = buf[off]
  }
  return { groupId: Buffer.from(groupId), isCommit: contentType === 3 }
}

// ---------- gRPC framing ----------
const frame = (bytes: Uint8Array): Buffer => {
  const header = Buffer.alloc(5)
  header.writeUInt32BE(bytes.length, 1)
  return Buffer.concat([header, Buffer.from(bytes)])
}
function unframe(body: Buffer): Buffer[] {
  const out: Buffer[] = []
  let off = 0
  while (off + 5 <= body.length) {
    const len = body.readUInt32BE(off + 1)
    out.push(body.subarray(off + 5, off + 5 + len))
    off += 5 + len
  }
  return out
}

interface StoredGroupMessage {
  id: LongValue
  createdNs: LongValue
  groupId: Buffer
  data: Uint8Array
  senderHmac: Uint8Array
  shouldPush: boolean
  isCommit: boolean
  /** Lost by the streams: never pushed, not even in a new subscription's replay. */
  hiddenFromStreams?: boolean
}
interface StoredWelcome {
  key: string
  id: LongValue
  msg: unknown
  hiddenFromStreams?: boolean
}
interface Subscriber<T> {
  topics: Set<string>
  send(item: T): void
}
type Unary = [request: Codec, response: Codec | null, handle: (req: any) => unknown]

export interface FakeXmtpNode {
  /** `http://127.0.0.1:<port>`: pass as `apiUrl` with `env: "local"`. */
  apiUrl: string
  port: number
  /** Calls per gRPC path, for tests that assert on traffic. */
  rpcCounts: Record<string, number>
  /** Cuts every client connection (as a node restart or network blip would); the server keeps its state. */
  dropConnections(): void
  /**
   * The next `count` application messages are stored but never pushed to subscribers (live, or in the replay a new
   * subscription gets), as XMTP streams sometimes lose one (libxmtp#2351): only a sync or a query finds them.
   */
  dropNextLiveMessages(count: number): void
  /**
   * Likewise for every welcome to this installation from now on (libxmtp may send one add's welcome more than
   * once): only a welcome sync finds them.
   */
  hideWelcomesFromStreams(installationId: string): void
  stop(): Promise<void>
}

export interface FakeXmtpNodeOptions {
  port?: number
  verbose?: boolean
}

export function startFakeXmtpNode(options: FakeXmtpNodeOptions = {}): Promise<FakeXmtpNode> {
  const verbose = options.verbose ?? process.env.FAKE_XMTP_VERBOSE === "1"
  const rpcCounts: Record<string, number> = {}
  let seq = 0
  const nextId = (): LongValue => Long.fromNumber(++seq)
  const identityUpdates: { inboxId: string; sequenceId: LongValue; serverTimestampNs: LongValue; update: any }[] = []
  const inboxByIdentifier = new Map<string, string>()
  const keyPackages = new Map<string, Uint8Array>()
  const groupMessages: StoredGroupMessage[] = []
  const welcomes: StoredWelcome[] = []
  const groupSubs = new Set<Subscriber<StoredGroupMessage>>()
  let liveDropsLeft = 0
  const welcomesHiddenFor = new Set<string>()
  const welcomeSubs = new Set<Subscriber<StoredWelcome>>()

  const page = <T extends { id: LongValue }>(all: T[], pagingInfo: any): { items: T[]; pagingInfo: unknown } => {
    const direction: number = pagingInfo?.direction ?? 0
    const cursor: LongValue = pagingInfo?.idCursor ?? Long.ZERO
    const descending = direction === 2
    let list = all.filter((m) => (cursor.isZero() ? true : descending ? m.id.lt(cursor) : m.id.gt(cursor)))
    if (descending) list = list.slice().reverse()
    const limit: number = pagingInfo?.limit || 100
    const items = list.slice(0, limit)
    const last = items[items.length - 1]
    return { items, pagingInfo: { direction, limit, idCursor: items.length === limit && last ? last.id : Long.ZERO } }
  }

  const unary: Record<string, Unary> = {
    "/xmtp.identity.api.v1.IdentityApi/PublishIdentityUpdate": [
      codec(identity, "PublishIdentityUpdateRequest"),
      codec(identity, "PublishIdentityUpdateResponse"),
      (req) => {
        const update = req.identityUpdate
        identityUpdates.push({ inboxId: update.inboxId, sequenceId: nextId(), serverTimestampNs: nowNs(), update })
        for (const action of update.actions) {
          if (action.createInbox) inboxByIdentifier.set(action.createInbox.initialIdentifier.toLowerCase(), update.inboxId)
          const added = action.add?.newMemberIdentifier?.ethereumAddress
          if (added) inboxByIdentifier.set(added.toLowerCase(), update.inboxId)
        }
        return {}
      },
    ],
    "/xmtp.identity.api.v1.IdentityApi/GetIdentityUpdates": [
      codec(identity, "GetIdentityUpdatesRequest"),
      codec(identity, "GetIdentityUpdatesResponse"),
      (req) => ({
        responses: req.requests.map((r: any) => ({
          inboxId: r.inboxId,
          updates: identityUpdates
            .filter((u) => u.inboxId === r.inboxId && u.sequenceId.gt(r.sequenceId))
            .map(({ sequenceId, serverTimestampNs, update }) => ({ sequenceId, serverTimestampNs, update })),
        })),
      }),
    ],
    "/xmtp.identity.api.v1.IdentityApi/GetInboxIds": [
      codec(identity, "GetInboxIdsRequest"),
      codec(identity, "GetInboxIdsResponse"),
      (req) => ({
        responses: req.requests.map((r: any) => ({
          identifier: r.identifier,
          identifierKind: r.identifierKind,
          inboxId: inboxByIdentifier.get(r.identifier.toLowerCase()),
        })),
      }),
    ],
    "/xmtp.identity.api.v1.IdentityApi/VerifySmartContractWalletSignatures": [
      codec(identity, "VerifySmartContractWalletSignaturesRequest"),
      codec(identity, "VerifySmartContractWalletSignaturesResponse"),
      (req) => ({ responses: req.signatures.map(() => ({ isValid: true })) }),
    ],
    "/xmtp.mls.api.v1.MlsApi/UploadKeyPackage": [
      codec(mls, "UploadKeyPackageRequest"),
      null,
      (req) => {
        const keyPackage: Uint8Array = req.keyPackage.keyPackageTlsSerialized
        keyPackages.set(hex(installationKeyFromKeyPackage(keyPackage)), keyPackage)
        return {}
      },
    ],
    "/xmtp.mls.api.v1.MlsApi/RegisterInstallation": [
      codec(mls, "RegisterInstallationRequest"),
      codec(mls, "RegisterInstallationResponse"),
      (req) => {
        const keyPackage: Uint8Array = req.keyPackage.keyPackageTlsSerialized
        const installationKey = installationKeyFromKeyPackage(keyPackage)
        keyPackages.set(hex(installationKey), keyPackage)
        return { installationKey }
      },
    ],
    "/xmtp.mls.api.v1.MlsApi/FetchKeyPackages": [
      codec(mls, "FetchKeyPackagesRequest"),
      codec(mls, "FetchKeyPackagesResponse"),
      (req) => ({
        keyPackages: req.installationKeys.map((k: Uint8Array) => ({
          keyPackageTlsSerialized: keyPackages.get(hex(k)) ?? new Uint8Array(),
        })),
      }),
    ],
    "/xmtp.mls.api.v1.MlsApi/SendGroupMessages": [
      codec(mls, "SendGroupMessagesRequest"),
      null,
      (req) => {
        for (const m of req.messages) {
          const { groupId, isCommit } = groupInfoFromMlsMessage(m.v1.data)
          const stored: StoredGroupMessage = {
            id: nextId(),
            createdNs: nowNs(),
            groupId,
            data: m.v1.data,
            senderHmac: m.v1.senderHmac,
            shouldPush: m.v1.shouldPush,
            isCommit,
          }
          groupMessages.push(stored)
          if (!isCommit && liveDropsLeft > 0) {
            liveDropsLeft -= 1
            stored.hiddenFromStreams = true
            continue
          }
          for (const sub of groupSubs) if (sub.topics.has(hex(groupId))) sub.send(stored)
        }
        return {}
      },
    ],
    "/xmtp.mls.api.v1.MlsApi/SendWelcomeMessages": [
      codec(mls, "SendWelcomeMessagesRequest"),
      null,
      (req) => {
        for (const m of req.messages) {
          const id = nextId()
          const createdNs = nowNs()
          const welcome: StoredWelcome = m.v1
            ? { key: hex(m.v1.installationKey), id, msg: { v1: { ...m.v1, id, createdNs } } }
            : {
                key: hex(m.welcomePointer.installationKey),
                id,
                msg: { welcomePointer: { ...m.welcomePointer, id, createdNs } },
              }
          welcomes.push(welcome)
          if (welcomesHiddenFor.has(welcome.key)) {
            welcome.hiddenFromStreams = true
            continue
          }
          for (const sub of welcomeSubs) if (sub.topics.has(welcome.key)) sub.send(welcome)
        }
        return {}
      },
    ],
    "/xmtp.mls.api.v1.MlsApi/QueryGroupMessages": [
      codec(mls, "QueryGroupMessagesRequest"),
      codec(mls, "QueryGroupMessagesResponse"),
      (req) => {
        const groupId = hex(req.groupId)
        const { items, pagingInfo } = page(
          groupMessages.filter((m) => hex(m.groupId) === groupId),
          req.pagingInfo,
        )
        return { messages: items.map((v1) => ({ v1 })), pagingInfo }
      },
    ],
    "/xmtp.mls.api.v1.MlsApi/QueryWelcomeMessages": [
      codec(mls, "QueryWelcomeMessagesRequest"),
      codec(mls, "QueryWelcomeMessagesResponse"),
      (req) => {
        const key = hex(req.installationKey)
        const { items, pagingInfo } = page(
          welcomes.filter((w) => w.key === key),
          req.pagingInfo,
        )
        return { messages: items.map((w) => w.msg), pagingInfo }
      },
    ],
    "/xmtp.mls.api.v1.MlsApi/GetNewestGroupMessage": [
      codec(mls, "GetNewestGroupMessageRequest"),
      codec(mls, "GetNewestGroupMessageResponse"),
      (req) => ({
        responses: req.groupIds.map((gid: Uint8Array) => {
          const forGroup = groupMessages.filter((m) => hex(m.groupId) === hex(gid))
          const newest = forGroup[forGroup.length - 1]
          if (!newest) return {}
          return { groupMessage: { v1: req.includeContent ? newest : { ...newest, data: new Uint8Array() } } }
        }),
      }),
    ],
    "/xmtp.mls.api.v1.MlsApi/BatchPublishCommitLog": [codec(mls, "BatchPublishCommitLogRequest"), null, () => ({})],
    "/xmtp.mls.api.v1.MlsApi/BatchQueryCommitLog": [
      codec(mls, "BatchQueryCommitLogRequest"),
      codec(mls, "BatchQueryCommitLogResponse"),
      (req) => ({
        responses: req.requests.map((r: any) => ({
          groupId: r.groupId,
          commitLogEntries: [],
          pagingInfo: r.pagingInfo,
        })),
      }),
    ],
    "/xmtp.mls.api.v1.MlsApi/RevokeInstallation": [codec(mls, "RevokeInstallationRequest"), null, () => ({})],
  }

  const groupMessageCodec = codec(mls, "GroupMessage")
  const welcomeMessageCodec = codec(mls, "WelcomeMessage")
  const subscribeGroupCodec = codec(mls, "SubscribeGroupMessagesRequest")
  const subscribeWelcomeCodec = codec(mls, "SubscribeWelcomeMessagesRequest")

  /**
   * Like xmtp-node-go, replay stored items with id > the filter's cursor before live ones, deduped per topic by a
   * high-water mark (a live item may race the replay).
   */
  function subscribe<T extends { id: LongValue; hiddenFromStreams?: boolean }>(
    subs: Set<Subscriber<T>>,
    filters: { topic: string; cursor: LongValue }[],
    stored: T[],
    topicOf: (item: T) => string,
    write: (item: T) => void,
  ): () => void {
    const highWater = new Map<string, LongValue>()
    const send = (item: T): void => {
      const topic = topicOf(item)
      const seen = highWater.get(topic)
      if (seen && !item.id.gt(seen)) return
      highWater.set(topic, item.id)
      write(item)
    }
    for (const { topic, cursor } of filters)
      for (const item of stored) if (topicOf(item) === topic && item.id.gt(cursor) && !item.hiddenFromStreams) send(item)
    const sub: Subscriber<T> = { topics: new Set(filters.map((f) => f.topic)), send }
    subs.add(sub)
    return () => subs.delete(sub)
  }

  const streaming: Record<string, (req: Buffer, write: (bytes: Uint8Array) => void) => () => void> = {
    "/xmtp.mls.api.v1.MlsApi/SubscribeGroupMessages": (req, write) =>
      subscribe(
        groupSubs,
        subscribeGroupCodec.decode(req).filters.map((f: any) => ({ topic: hex(f.groupId), cursor: f.idCursor ?? Long.UZERO })),
        groupMessages,
        (m) => hex(m.groupId),
        (v1) => write(groupMessageCodec.encode({ v1 }).finish()),
      ),
    "/xmtp.mls.api.v1.MlsApi/SubscribeWelcomeMessages": (req, write) =>
      subscribe(
        welcomeSubs,
        subscribeWelcomeCodec
          .decode(req)
          .filters.map((f: any) => ({ topic: hex(f.installationKey), cursor: f.idCursor ?? Long.UZERO })),
        welcomes,
        (w) => w.key,
        (w) => write(welcomeMessageCodec.encode(w.msg).finish()),
      ),
  }

  // libxmtp cancels and reopens its group-message subscription whenever its set of groups changes; nghttp2's
  // rapid-reset protection (burst 1000, then 33/s) would end the whole connection after a few hundred groups.
  const server = http2.createServer({ streamResetBurst: 1_000_000, streamResetRate: 1_000_000 })
  const sessions = new Set<http2.ServerHttp2Session>()
  server.on("session", (session) => {
    sessions.add(session)
    session.on("close", () => sessions.delete(session))
    if (verbose) {
      const t = () => performance.now().toFixed(0)
      session.on("goaway", (code) => console.log(t(), "session goaway", code))
      session.on("error", (e) => console.log(t(), "session error", e.message))
      session.on("frameError", (type, code) => console.log(t(), "frameError", type, code))
      session.on("close", () => console.log(t(), "session close"))
      session.on("timeout", () => console.log(t(), "session timeout"))
    }
  })
  server.on("stream", (stream, headers) => {
    const path = String(headers[":path"])
    const chunks: Buffer[] = []
    rpcCounts[path] = (rpcCounts[path] ?? 0) + 1
    stream.on("error", (e) => {
      if (verbose) console.log(performance.now().toFixed(0), "stream error", path, e.message)
    })
    if (verbose && streaming[path]) stream.on("close", () => console.log(performance.now().toFixed(0), "stream closed", path, stream.rstCode))
    const respond = (...args: Parameters<typeof stream.respond>): boolean => {
      // A client that cancels a call (libxmtp does on close) leaves a destroyed stream; respond() would throw.
      if (stream.destroyed || stream.closed) return false
      try {
        stream.respond(...args)
        return true
      } catch {
        return false
      }
    }
    const handleStreaming = streaming[path]
    if (handleStreaming) {
      // Server streaming: the request arrives first, then the response stays open.
      let started = false
      stream.on("data", (chunk: Buffer) => {
        chunks.push(chunk)
        if (started) return
        const request = unframe(Buffer.concat(chunks))[0]
        if (!request) return
        started = true
        if (!respond({ ":status": 200, "content-type": "application/grpc" })) return
        const unsubscribe = handleStreaming(request, (bytes) => {
          if (!stream.closed && !stream.destroyed) stream.write(frame(bytes))
        })
        stream.on("close", unsubscribe)
        if (verbose) console.log(performance.now().toFixed(0), "SUB", path)
      })
      return
    }
    stream.on("data", (chunk: Buffer) => chunks.push(chunk))
    stream.on("end", () => {
      const handler = unary[path]
      if (!handler) {
        console.warn("fake xmtp node: UNIMPLEMENTED", path)
        respond(
          { ":status": 200, "content-type": "application/grpc", "grpc-status": "12", "grpc-message": "fake: unimplemented" },
          { endStream: true },
        )
        return
      }
      const [RequestCodec, ResponseCodec, handle] = handler
      try {
        const request = RequestCodec.decode(unframe(Buffer.concat(chunks))[0] ?? new Uint8Array())
        const result = handle(request)
        if (verbose && process.env.FAKE_XMTP_VERBOSE_RPC === "1") console.log(performance.now().toFixed(0), "RPC", path)
        const bytes = ResponseCodec ? ResponseCodec.encode(ResponseCodec.fromPartial(result)).finish() : new Uint8Array()
        if (!respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true })) return
        stream.on("wantTrailers", () => {
          try {
            stream.sendTrailers({ "grpc-status": "0" })
          } catch {}
        })
        stream.end(frame(bytes))
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error)
        console.warn("fake xmtp node: ERROR", path, message)
        respond(
          { ":status": 200, "content-type": "application/grpc", "grpc-status": "13", "grpc-message": encodeURIComponent(message) },
          { endStream: true },
        )
      }
    })
  })

  return new Promise((resolve, reject) => {
    server.once("error", reject)
    server.listen(options.port ?? 0, "127.0.0.1", () => {
      const address = server.address()
      if (!address || typeof address === "string") return reject(new Error("fake xmtp node: no TCP address"))
      resolve({
        apiUrl: `http://127.0.0.1:${address.port}`,
        port: address.port,
        rpcCounts,
        dropConnections: () => {
          for (const session of sessions) session.destroy()
        },
        dropNextLiveMessages: (count) => {
          liveDropsLeft = count
        },
        hideWelcomesFromStreams: (installationId) => {
          welcomesHiddenFor.add(installationId.toLowerCase())
        },
        stop: () =>
          new Promise<void>((done) => {
            for (const session of sessions) session.destroy()
            server.close(() => done())
          }),
      })
    })
  })
}
