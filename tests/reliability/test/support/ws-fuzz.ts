import WebSocket from "ws";
import { json as serverJson } from "@hranad/hrana-protocol";
import { json, protobuf, type ClientMsg } from "@hranad/hrana-protocol/client";
import { Random, mutateBytes, mutateJsonStructure } from "./mutate.js";
import { clientMessages, traceWsFrames } from "./seeds.js";

/** Close codes a server may use for a client's bad frames (RFC 6455 §7.4.1). 1011 (internal error) is not one. */
export const CLIENT_FAULT_CLOSE_CODES = new Set([1000, 1001, 1002, 1003, 1007, 1008, 1009]);

export interface WsSessionResult {
  readonly protocol: string;
  readonly framesSent: number;
  readonly framesReceived: number;
  /** The close code the server sent, or undefined when the client closed first. */
  readonly serverCloseCode: number | undefined;
  readonly failure: string | undefined;
}

const OFFERS: readonly (readonly string[])[] = [["hrana2", "hrana1"], ["hrana3"], ["hrana3-protobuf"], ["hrana1"], [], ["bogus"], ["hrana3-protobuf", "hrana3"]];

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

/** Valid frames for each codec: the trace's client frames and the protocol package's encoder output. */
function frameSeeds(): { text: Uint8Array[]; binary: Uint8Array[] } {
  const messages: ClientMsg[] = [...clientMessages()];
  for (const frame of traceWsFrames()) {
    try {
      messages.push(serverJson.decodeClientMsg(frame, 3));
    } catch {
      // a hrana2 frame that hrana3 does not accept: keep it as text only
    }
  }
  return {
    text: [...traceWsFrames().map(utf8), ...messages.map((m) => utf8(json.encodeClientMsg(m)))],
    binary: messages.map((m) => protobuf.encodeClientMsg(m)),
  };
}

/**
 * Runs one WebSocket session with a random subprotocol offer and a random script of frames (hello or not, valid,
 * mutated, wrong frame type, garbage), all sent at once (pipelined). Checks every server frame decodes as a
 * ServerMsg of the negotiated codec and that the server only closes with a client-fault code. Bounded by `timeoutMs`.
 */
export class WsFuzzer {
  readonly #url: string;
  readonly #random: Random;
  readonly #seeds = frameSeeds();

  constructor(url: string, seed: number) {
    this.#url = url;
    this.#random = new Random(seed);
  }

  #frames(binary: boolean): { data: Uint8Array; binary: boolean }[] {
    const r = this.#random;
    const pool = binary ? this.#seeds.binary : this.#seeds.text;
    const frames: { data: Uint8Array; binary: boolean }[] = [];
    if (r.chance(0.8)) frames.push({ data: binary ? protobuf.encodeClientMsg({ type: "hello", jwt: null }) : utf8('{"type":"hello"}'), binary });
    const count = 1 + r.int(20);
    for (let i = 0; i < count; i++) {
      const roll = r.next();
      let data = r.pick(pool);
      let frameBinary = binary;
      if (roll < 0.45) {
        // valid as is
      } else if (roll < 0.7) data = mutateBytes(data, r, pool);
      else if (roll < 0.85) data = binary ? mutateBytes(data, r, pool) : mutateJsonStructure(data, r);
      else if (roll < 0.93) frameBinary = !binary;
      else data = Uint8Array.from({ length: r.int(64) }, () => r.int(256));
      frames.push({ data, binary: frameBinary });
    }
    return frames;
  }

  run(timeoutMs = 5000): Promise<WsSessionResult> {
    const offer = this.#random.pick(OFFERS);
    return new Promise<WsSessionResult>((resolve) => {
      const socket = new WebSocket(this.#url, [...offer]);
      let framesSent = 0;
      let framesReceived = 0;
      let failure: string | undefined;
      let serverCloseCode: number | undefined;
      let clientClosing = false;
      let refused = false;
      const script: string[] = [];
      let quiet: NodeJS.Timeout | undefined;
      const finish = () => {
        clearTimeout(overall);
        clearTimeout(quiet);
        resolve({ protocol: socket.protocol || offer.join(",") || "(none)", framesSent, framesReceived, serverCloseCode, failure });
      };
      const overall = setTimeout(() => {
        failure ??= `the session did not end within ${timeoutMs} ms`;
        socket.terminate();
      }, timeoutMs);
      const closeSoon = () => {
        clearTimeout(quiet);
        // No frame for a while after the script: the server has said what it had to say.
        quiet = setTimeout(() => {
          clientClosing = true;
          socket.close(1000);
        }, 300);
      };
      socket.on("unexpected-response", (_request, response) => {
        refused = true;
        // A refused upgrade (unsupported subprotocol) must be a plain 4xx.
        if (response.statusCode === undefined || response.statusCode >= 500 || response.statusCode < 400) {
          failure = `upgrade refused with HTTP ${response.statusCode}`;
        } else if (!offer.includes("bogus")) {
          failure = `upgrade with offer [${offer.join(",")}] refused with HTTP ${response.statusCode}`;
        }
        response.resume();
        socket.terminate();
      });
      socket.on("error", (error) => {
        if (!clientClosing && !refused) failure ??= `socket error: ${error.message}`;
      });
      socket.on("open", () => {
        if (offer.includes("bogus")) failure = "the server accepted an unsupported subprotocol";
        const binary = socket.protocol === "hrana3-protobuf";
        for (const frame of this.#frames(binary)) {
          socket.send(frame.data, { binary: frame.binary });
          framesSent++;
          if (process.env.HRANAD_DEBUG) script.push(`${frame.binary ? "B" : "T"} ${Buffer.from(frame.data).toString("base64")}`);
        }
        closeSoon();
      });
      socket.on("message", (data: Buffer, isBinary: boolean) => {
        if (refused) return;
        framesReceived++;
        const binary = socket.protocol === "hrana3-protobuf";
        if (isBinary !== binary) failure ??= `a ${isBinary ? "binary" : "text"} frame on ${socket.protocol}`;
        try {
          if (binary) protobuf.decodeServerMsg(data);
          else json.decodeServerMsg(data);
        } catch (error) {
          failure ??= `undecodable server frame on ${socket.protocol}: ${(error as Error).message}`;
        }
        closeSoon();
      });
      socket.on("close", (code) => {
        if (!clientClosing && !refused) {
          serverCloseCode = code;
          if (!CLIENT_FAULT_CLOSE_CODES.has(code)) {
            failure ??= `the server closed ${socket.protocol || "(no protocol)"} with code ${code}${script.length > 0 ? `\n    ${script.join("\n    ")}` : ""}`;
          }
        }
        finish();
      });
    });
  }
}
