/*! django-aws-api-gateway-websockets client 5.0.0.dev0 | MIT licence */
/**
 * The browser side of django-aws-api-gateway-websockets: an ES module with no dependencies and
 * no build step. It keeps one WebSocket open to API Gateway (or the local gateway) for a page.
 *
 *   {% load aws_websockets %}{% websocket_config %}           (in the template)
 *   <script type="module">
 *     import { connect } from "{% static 'django_aws_api_gateway_websockets/client.js' %}";
 *     const socket = connect();                               // reads the websocket_config
 *     socket.on("message", ({ data }) => console.log(data));  // JSON pushes, parsed
 *     socket.send("say", { text: "hello" });                  // {"handler": "say", "text": ...}
 *   </script>
 *
 * Channels (the server's `subscribe`/`unsubscribe` handlers; docs/channels-presence-history.md):
 *
 *     socket.subscribe("chat:7");                             // now, and after every reconnect
 *     socket.on("publication", ({ channel, data, offset }) => show(data));  // each offset once
 *     socket.on("subscribed", ({ channel, recovered }) => { if (recovered === false) reload(); });
 *     socket.on("presence", ({ channel, count, members }) => render(members));
 *     socket.on("join", ({ channel, user, info }) => ...); socket.on("leave", ...);
 *     socket.presence("chat:7");                              // {count, members: [{user, info}]}
 *
 * What it does for you:
 * - Before every connect (the first, each reconnect, each renewal) it POSTs to the token
 *   endpoint with the CSRF token and the session cookie, and connects with that fresh one-time
 *   token: a token is spent by the connect that uses it.
 * - It reconnects with exponential backoff and jitter; a refusal of the token endpoint because
 *   the user is not logged in (or the CSRF check failed) stops it instead.
 * - It sends a heartbeat ({"handler": "heartbeat"}) when nothing was sent for
 *   `heartbeatInterval`, under API Gateway's 10-minute idle limit.
 * - Before API Gateway's 2-hour limit it opens a new connection (same URL, same channel) and
 *   only then closes the old one.
 * - While there is no connection, `send()` queues messages (at most `queueLimit`; the oldest
 *   are dropped beyond it) and sends them, in order, once connected.
 * - Every new connection (reconnect or renewal) subscribes again to the channels wanted, each
 *   with `since` = the last position seen, so missed publications are recovered (or
 *   "subscribed" says `recovered: false`). A renewal closes the old connection only once the
 *   new one's subscriptions are answered: presence sees no leave. Duplicates (the overlap,
 *   retries) are dropped by offset; the first subscribe starts from `positions` (rendered
 *   with the page by `{% channel_positions %}` / the mixins), so nothing between the HTML and
 *   the socket is lost.
 * - It tells you what happens: `state`, and events "statechange", "open", "message", "close",
 *   "retry", "error", "drop", and for channels "subscribed", "unsubscribed", "refused",
 *   "publication", "duplicate", "join", "leave", "presence" (with `event.detail`), or
 *   `on(type, detail => ...)`. Channel frames are not "message" events.
 */

import { ChannelSet } from "./channels.js";

export const VERSION = "5.0.0.dev0";

/** The states of a client, in `client.state` and the "statechange" event. */
export const STATES = Object.freeze({
  IDLE: "idle", //             created, connect() not called yet
  CONNECTING: "connecting", // fetching a token or opening the socket
  OPEN: "open", //             connected: send() goes out at once
  WAITING: "waiting", //       disconnected; the next attempt is scheduled ("retry" event)
  CLOSED: "closed", //         close() was called, or the client gave up ("error" event)
});

/**
 * Every option, with its default. Times are in milliseconds. The template tag
 * `{% websocket_config %}` fills in the first ones from the view's context.
 */
export const DEFAULTS = Object.freeze({
  url: null, //                  the gateway's connect URL (websocket_url in the context)
  channel: null, //              the channel (?channel=); null keeps the URL's own
  tokenUrl: null, //             POST here for a one-time token; null connects without one
  tokenParam: "ws_token", //     the query parameter carrying the token
  csrfToken: null, //            used when the CSRF cookie cannot be read
  csrfCookieName: "csrftoken", //settings.CSRF_COOKIE_NAME (null: never read the cookie)
  csrfHeaderName: "X-CSRFToken", //settings.CSRF_HEADER_NAME as a header
  routeKey: null, //             a route key to send with every message ...
  routeSelectionKey: "action", //... under this key ($request.body.action)
  handlerKey: "handler", //      the key naming the WebSocketView method to run
  heartbeatHandler: "heartbeat", //the handler the heartbeat names
  heartbeatInterval: 300000, //  send a heartbeat after this long without sending (0: never)
  maxConnectionAge: 6600000, //  renew connections after about this long (0: never); AWS: 2 h
  reconnect: true, //            reconnect after a lost connection
  maxRetries: null, //           attempts in a row before giving up (null: never give up)
  backoffInitial: 1000, //       the first retry's delay ...
  backoffFactor: 2, //           ... multiplied by this for each further attempt ...
  backoffMax: 30000, //          ... up to this
  backoffJitter: 0.5, //         a random part of each delay: delay * (1 - jitter * random)
  stableAfter: 10000, //         a connection open this long resets the backoff
  connectTimeout: 30000, //      give up on an opening socket after this long
  queueLimit: 100, //            messages kept while disconnected
  maxMessageBytes: 32768, //     larger messages throw RangeError (API Gateway: 32 KB frames)
  autoConnect: true, //          connect() opens at once (used by connect(config))
  channels: null, //             channels to subscribe to once connected (list of names)
  positions: null, //            {channel: {offset, epoch}}: where the page's content stops
  version: null, //              the package version the page was rendered with
  debug: false, //               log what happens to the console
  unavailable: null, //          why the page has no url (the tag says which route is missing)
});

const CHANNEL_RE = /^[a-zA-Z0-9_-]{1,128}$/;
/** Channels per subscribe message (the server's default limit is 100 per connection). */
const SUBSCRIBE_BATCH = 50;
/** A renewal closes the old connection after this long even if subscribes are unanswered. */
const RENEWAL_OVERLAP = 10000;

/** The token endpoint refused for good (not logged in, CSRF failure): no point retrying. */
export class TokenRefused extends Error {
  constructor(status, body) {
    super(`the token endpoint answered ${status}${body ? `: ${body}` : ""}`);
    this.name = "TokenRefused";
    this.status = status;
    this.body = body;
  }
}

/** The token endpoint failed in a way that may pass (rate limit, server error, network). */
export class TokenUnavailable extends Error {
  constructor(message, status = 0) {
    super(message);
    this.name = "TokenUnavailable";
    this.status = status;
  }
}

/** The value of cookie `name`, or null. */
export function readCookie(name) {
  if (!name || typeof document === "undefined" || !document.cookie) return null;
  for (const part of document.cookie.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) {
      try {
        return decodeURIComponent(rest.join("="));
      } catch {
        return rest.join("=");
      }
    }
  }
  return null;
}

/** The parsed JSON of a `<script type="application/json">` element (or its id). */
export function readConfig(element = "websocket-config") {
  const node = typeof element === "string" ? document.getElementById(element) : element;
  if (!node) throw new Error(`no element with id "${element}": add {% websocket_config %}`);
  return JSON.parse(node.textContent);
}

/** The delay before retry number `attempt` (0-based) under `options`. */
export function backoffDelay(attempt, options = DEFAULTS, random = Math.random) {
  const base = Math.min(
    options.backoffMax,
    options.backoffInitial * Math.pow(options.backoffFactor, attempt),
  );
  const jitter = Math.min(Math.max(options.backoffJitter, 0), 1);
  return Math.round(base * (1 - jitter * random()));
}

function byteLength(text) {
  return new TextEncoder().encode(text).length;
}

function withoutToken(url, param) {
  const copy = new URL(url);
  copy.searchParams.delete(param);
  return copy.toString();
}

export class WebSocketClient extends EventTarget {
  /** `options`: see DEFAULTS; unknown keys are ignored with a warning. */
  constructor(options = {}) {
    super();
    const clean = {};
    for (const [key, value] of Object.entries(options || {})) {
      if (!(key in DEFAULTS)) console.warn(`WebSocketClient: unknown option ${key}`);
      else if (value !== undefined) clean[key] = value;
    }
    this.options = { ...DEFAULTS, ...clean };
    if (!this.options.url) {
      const why = this.options.unavailable;
      throw new TypeError(`WebSocketClient needs a url${why ? `: ${why}` : ""}`);
    }
    if (this.options.version && this.options.version !== VERSION) {
      console.warn(
        `WebSocketClient: the page was rendered by version ${this.options.version} ` +
          `of the package but client.js is ${VERSION} (a stale cached file?)`,
      );
    }
    const start = new URL(this.options.url, globalThis.location ? location.href : undefined);
    if (start.protocol === "http:") start.protocol = "ws:";
    if (start.protocol === "https:") start.protocol = "wss:";
    this._baseUrl = start;
    this._channel = this.options.channel || start.searchParams.get("channel") || null;
    this.state = STATES.IDLE;
    this.socket = null; //       the open socket
    this.connectionCount = 0; // sockets opened so far
    this.attempts = 0; //        failed attempts in a row
    this.queue = [];
    this.lastError = null;
    this._pending = null; //     { socket, timer, renewal } while opening
    this._retryTimer = null;
    this._heartbeatTimer = null;
    this._renewTimer = null;
    this._openedAt = 0;
    this._closing = false;
    this._starting = false;
    this._draining = null; //   the old socket of a renewal, until the new one is subscribed
    this._drainTimer = null;
    this._channels = new ChannelSet((type, detail) => this._emit(type, detail), this.options.positions);
    for (const channel of this.options.channels || []) this._channels.add(channel);
    this._onOnline = () => {
      if (this.state === STATES.WAITING) this._retryNow();
    };
  }

  /** The channel the next connection joins. */
  get channel() {
    return this._channel;
  }

  /** The channels subscribed to (or to be, once connected), in the order asked. */
  get subscriptions() {
    return this._channels.channels;
  }

  /**
   * Subscribe to `channel` now (when connected) and after every reconnect and renewal. A
   * channel already wanted is not asked again. Answers: "subscribed" or "refused" events.
   */
  subscribe(channel) {
    if (this._channels.has(channel)) return false;
    const item = this._channels.add(channel);
    if (!this._isOpen()) return false;
    this._write(JSON.stringify(this._subscribeMessage("subscribe", [item])));
    return true;
  }

  /** Stop receiving `channel` (its position and members are forgotten). */
  unsubscribe(channel) {
    if (!this._channels.remove(channel)) return false;
    if (!this._isOpen()) return false;
    this._write(JSON.stringify(this._subscribeMessage("unsubscribe", [channel])));
    return true;
  }

  /** `{count, members: [{user, info}] | null}` of a presence channel subscribed to, or null. */
  presence(channel) {
    return this._channels.presence(channel);
  }

  /** `{offset, epoch}` of the last publication seen on `channel`, or null. */
  position(channel) {
    return this._channels.position(channel);
  }

  /** Listen to `type`; the callback gets `event.detail`. Returns a function that unsubscribes. */
  on(type, callback) {
    const listener = (event) => callback(event.detail, event);
    this.addEventListener(type, listener);
    return () => this.removeEventListener(type, listener);
  }

  /**
   * Start connecting (a no-op while connecting or open). Returns the client. It starts in a
   * microtask, so listeners added right after connect() see every event, "connecting" included.
   */
  connect() {
    if (this._starting || (this.state !== STATES.IDLE && this.state !== STATES.CLOSED)) return this;
    this._starting = true;
    this._closing = false;
    this.attempts = 0;
    this.lastError = null;
    if (typeof window !== "undefined") window.addEventListener("online", this._onOnline);
    queueMicrotask(() => {
      this._starting = false;
      if (!this._closing) this._attempt(false);
    });
    return this;
  }

  /** Close for good (no reconnect). Queued messages are kept for a later connect(). */
  close(code = 1000, reason = "") {
    this._closing = true;
    this._clearTimers();
    if (typeof window !== "undefined") window.removeEventListener("online", this._onOnline);
    if (this._pending) {
      this._pending.socket?.close();
      this._pending = null;
    }
    this._closeDraining();
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      socket.close(code, reason);
      this._emit("close", { code, reason, wasClean: true, willReconnect: false });
    }
    this._setState(STATES.CLOSED);
  }

  /**
   * Send `{"handler": handler, ...fields}` (with the route key, when configured). Returns true
   * when it went out now, false when it was queued.
   */
  send(handler, fields = {}) {
    if (typeof handler !== "string" || !handler) throw new TypeError("send() needs a handler name");
    return this.sendJSON({ ...this._routing(), [this.options.handlerKey]: handler, ...fields });
  }

  /** Send any JSON value as it is (queued while disconnected, like send()). */
  sendJSON(value) {
    const text = JSON.stringify(value);
    if (text === undefined) throw new TypeError("sendJSON() needs a JSON value");
    if (byteLength(text) > this.options.maxMessageBytes) {
      throw new RangeError(
        `message of ${byteLength(text)} bytes is over maxMessageBytes (${this.options.maxMessageBytes})`,
      );
    }
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this._write(text);
      return true;
    }
    this.queue.push(text);
    while (this.queue.length > this.options.queueLimit) {
      const dropped = this.queue.shift();
      this._emit("drop", { message: dropped, queueLimit: this.options.queueLimit });
    }
    return false;
  }

  /** Move this connection to another channel; later reconnects join it too. */
  changeChannel(channel) {
    if (!CHANNEL_RE.test(channel)) throw new RangeError("a channel is 1-128 of a-z A-Z 0-9 _ -");
    this._channel = channel;
    return this.send("change_channel", { channel });
  }

  /** Open a new connection now and then close the current one (a manual renewal). */
  reconnect() {
    if (this.state === STATES.OPEN && !this._pending) this._attempt(true);
    else if (this.state === STATES.WAITING) this._retryNow();
    else if (this.state === STATES.IDLE || this.state === STATES.CLOSED) this.connect();
  }

  // -- internals ---------------------------------------------------------------------------------

  _log(...args) {
    if (this.options.debug) console.debug("[websocket]", ...args);
  }

  _emit(type, detail) {
    this._log(type, detail);
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  _setState(state) {
    if (state === this.state) return;
    const previous = this.state;
    this.state = state;
    this._emit("statechange", { state, previous });
  }

  _isOpen() {
    return Boolean(this.socket && this.socket.readyState === WebSocket.OPEN);
  }

  _subscribeMessage(handler, channels) {
    return { ...this._routing(), [this.options.handlerKey]: handler, channels };
  }

  _resubscribe(socket) {
    const items = this._channels.resubscribe();
    for (let start = 0; start < items.length; start += SUBSCRIBE_BATCH) {
      const batch = items.slice(start, start + SUBSCRIBE_BATCH);
      socket.send(JSON.stringify(this._subscribeMessage("subscribe", batch)));
    }
    return items.length > 0;
  }

  _closeDraining() {
    clearTimeout(this._drainTimer);
    this._drainTimer = null;
    const old = this._draining;
    this._draining = null;
    if (old) old.close(1000, "renewed");
  }

  _routing() {
    const { routeKey, routeSelectionKey, handlerKey } = this.options;
    if (!routeKey || !routeSelectionKey || routeSelectionKey === handlerKey) return {};
    return { [routeSelectionKey]: routeKey };
  }

  _url(token) {
    const url = new URL(this._baseUrl);
    if (this._channel) url.searchParams.set("channel", this._channel);
    if (token !== null) url.searchParams.set(this.options.tokenParam, token);
    return url.toString();
  }

  async _fetchToken() {
    const { tokenUrl, csrfCookieName, csrfHeaderName } = this.options;
    const headers = { Accept: "application/json" };
    const csrf = readCookie(csrfCookieName) || this.options.csrfToken;
    if (csrf) headers[csrfHeaderName] = csrf;
    let response;
    try {
      response = await fetch(tokenUrl, {
        method: "POST",
        headers,
        credentials: "same-origin",
        cache: "no-store",
      });
    } catch (error) {
      throw new TokenUnavailable(`the token endpoint cannot be reached (${error})`);
    }
    if (!response.ok) {
      const body = (await response.text().catch(() => "")).trim().slice(0, 200);
      // WebSocketTokenView answers 403 "Rate limit exceeded" to a user asking too often:
      // that passes. Any other 401/403 (not logged in, CSRF failure) does not.
      if ((response.status === 401 || response.status === 403) && body !== "Rate limit exceeded") {
        throw new TokenRefused(response.status, body.startsWith("<") ? "" : body);
      }
      throw new TokenUnavailable(`the token endpoint answered ${response.status}`, response.status);
    }
    const data = await response.json().catch(() => null);
    if (!data || typeof data.token !== "string" || !data.token) {
      throw new TokenUnavailable("the token endpoint answered without a token", response.status);
    }
    return data.token;
  }

  /** One attempt: a fresh token, then a socket. `renewal`: the current socket stays meanwhile. */
  async _attempt(renewal) {
    const pending = { socket: null, timer: null, renewal };
    this._pending = pending;
    if (!renewal) this._setState(STATES.CONNECTING);
    let token = null;
    if (this.options.tokenUrl) {
      try {
        token = await this._fetchToken();
      } catch (error) {
        if (this._pending !== pending) return;
        this._pending = null;
        this._failed(error, pending.renewal);
        return;
      }
      if (this._pending !== pending) return; // closed or superseded meanwhile
    }
    const url = this._url(token);
    let socket;
    try {
      socket = new WebSocket(url);
    } catch (error) {
      this._pending = null;
      this._failed(error, pending.renewal);
      return;
    }
    pending.socket = socket;
    pending.timer = setTimeout(() => {
      if (this._pending === pending) {
        this._pending = null;
        socket.close();
        const error = new Error(`no connection after ${this.options.connectTimeout} ms`);
        this._failed(error, pending.renewal);
      }
    }, this.options.connectTimeout);
    socket.addEventListener("open", () => {
      if (this._pending !== pending) {
        socket.close(1000);
        return;
      }
      clearTimeout(pending.timer);
      this._pending = null;
      this._opened(socket, url, pending.renewal);
    });
    socket.addEventListener("message", (event) => this._received(socket, event));
    socket.addEventListener("close", (event) => {
      if (this._pending === pending) {
        // refused or dropped while opening: the browser does not say why
        clearTimeout(pending.timer);
        this._pending = null;
        const error = new Error(`the connection closed while opening (${event.code})`);
        this._failed(error, pending.renewal);
      } else if (this.socket === socket) {
        this._lost(event);
      }
    });
  }

  _opened(socket, url, renewal) {
    const previous = this.socket;
    this.socket = socket;
    this._openedAt = Date.now();
    this.connectionCount += 1;
    if (renewal) this.attempts = 0; // otherwise once the connection proved stable (_lost)
    this.lastError = null;
    clearTimeout(this._retryTimer);
    this._retryTimer = null;
    const subscribing = this._resubscribe(socket);
    this._closeDraining();
    if (previous && subscribing) {
      // make before break: the old connection stays until the new one's subscriptions are
      // answered, so its $disconnect cannot make this user leave (and come back)
      this._draining = previous;
      this._drainTimer = setTimeout(() => this._closeDraining(), RENEWAL_OVERLAP);
    } else if (previous) {
      previous.close(1000, "renewed"); // after the new one is open: no gap
    }
    while (this.queue.length && socket.readyState === WebSocket.OPEN) {
      this._write(this.queue.shift());
    }
    this._setState(STATES.OPEN);
    this._scheduleHeartbeat();
    this._scheduleRenewal();
    this._emit("open", {
      url: withoutToken(url, this.options.tokenParam),
      channel: this._channel,
      connection: this.connectionCount,
      reconnected: this.connectionCount > 1 && !renewal,
      renewed: renewal,
    });
  }

  _received(socket, event) {
    // The old socket of a renewal may still deliver until the new one is open (ignored), and
    // until the new one is subscribed (kept: duplicates are dropped by offset).
    if (socket !== this.socket && socket !== this._draining) return;
    const raw = event.data;
    if (typeof raw !== "string") {
      this._emit("message", { data: raw, raw });
      return;
    }
    if (raw === "") return;
    let data = raw;
    try {
      data = JSON.parse(raw);
    } catch {
      // not JSON (a plain-text answer, such as a 4xx body on a two-way route): as it is
    }
    if (this._channels.handle(data)) {
      if (this._draining && this._channels.settled()) this._closeDraining();
      return;
    }
    this._emit("message", { data, raw });
  }

  _lost(event) {
    const openFor = Date.now() - this._openedAt;
    this.socket = null;
    clearTimeout(this._heartbeatTimer);
    clearTimeout(this._renewTimer);
    if (openFor >= this.options.stableAfter) this.attempts = 0;
    const willReconnect = !this._closing && this.options.reconnect;
    this._emit("close", {
      code: event.code,
      reason: event.reason,
      wasClean: event.wasClean,
      willReconnect,
    });
    if (this._pending) {
      this._pending.renewal = false; // the renewal in progress becomes the reconnect
      this._setState(STATES.CONNECTING);
    } else if (willReconnect) {
      this._scheduleRetry();
    } else {
      this._setState(STATES.CLOSED);
    }
  }

  _failed(error, renewal) {
    this.lastError = error;
    if (error instanceof TokenRefused) {
      this._emit("error", { type: "forbidden", status: error.status, message: error.message, error });
      if (!this.socket) {
        this._closing = true;
        this._clearTimers();
        this._setState(STATES.CLOSED);
      }
      return;
    }
    const type = error instanceof TokenUnavailable ? "token" : "connect";
    this._emit("error", { type, status: error.status || 0, message: error.message, error });
    if (this._closing) return;
    if (renewal && this.socket) {
      // keep the working connection; try the renewal again later
      this.attempts += 1;
      clearTimeout(this._renewTimer);
      this._renewTimer = setTimeout(
        () => this._renew(),
        backoffDelay(this.attempts - 1, this.options),
      );
      return;
    }
    if (!this.options.reconnect) {
      this._setState(STATES.CLOSED);
      return;
    }
    this._scheduleRetry();
  }

  _scheduleRetry() {
    const { maxRetries } = this.options;
    if (maxRetries !== null && maxRetries !== undefined && this.attempts >= maxRetries) {
      this._emit("error", {
        type: "gaveup",
        status: 0,
        message: `no connection after ${this.attempts} attempts`,
        error: this.lastError,
      });
      this._closing = true;
      this._setState(STATES.CLOSED);
      return;
    }
    const delay = backoffDelay(this.attempts, this.options);
    this.attempts += 1;
    this._setState(STATES.WAITING);
    this._emit("retry", { attempt: this.attempts, delay });
    clearTimeout(this._retryTimer);
    this._retryTimer = setTimeout(() => this._retryNow(), delay);
  }

  _retryNow() {
    clearTimeout(this._retryTimer);
    this._retryTimer = null;
    if (this._closing || this._pending) return;
    this._attempt(false);
  }

  _write(text) {
    this.socket.send(text);
    this._scheduleHeartbeat();
  }

  _scheduleHeartbeat() {
    clearTimeout(this._heartbeatTimer);
    const interval = this.options.heartbeatInterval;
    if (!interval) return;
    this._heartbeatTimer = setTimeout(() => {
      if (this.socket && this.socket.readyState === WebSocket.OPEN) {
        this._write(
          JSON.stringify({
            ...this._routing(),
            [this.options.handlerKey]: this.options.heartbeatHandler,
          }),
        );
      }
    }, interval);
  }

  _scheduleRenewal() {
    clearTimeout(this._renewTimer);
    const age = this.options.maxConnectionAge;
    if (!age) return;
    // spread over the last tenth, so that pages opened together do not renew together
    this._renewTimer = setTimeout(() => this._renew(), age * (0.9 + 0.1 * Math.random()));
  }

  _renew() {
    if (this._closing || this._pending || !this.socket) return;
    this._attempt(true);
  }

  _clearTimers() {
    for (const timer of [this._retryTimer, this._heartbeatTimer, this._renewTimer]) {
      clearTimeout(timer);
    }
    this._retryTimer = this._heartbeatTimer = this._renewTimer = null;
    if (this._pending) clearTimeout(this._pending.timer);
  }
}

/**
 * A client from a `{% websocket_config %}` element (its id, the element, or an options object),
 * with `overrides` applied; it connects at once unless `autoConnect` is false.
 */
export function connect(config = "websocket-config", overrides = {}) {
  const options =
    typeof config === "string" || (typeof Element !== "undefined" && config instanceof Element)
      ? readConfig(config)
      : config;
  const client = new WebSocketClient({ ...options, ...overrides });
  if (client.options.autoConnect) client.connect();
  return client;
}

export default WebSocketClient;
