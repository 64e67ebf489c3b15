import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  HpackDecoder,
  HpackEncoder,
  HpackError,
  hpackInteger,
} from '../../../src/proxy/h2/hpack.js';
import {
  EOS,
  HUFFMAN_CODES,
  HUFFMAN_LENGTHS,
  huffmanDecode,
  huffmanDecodedMax,
  huffmanEncode,
  huffmanEncodedLength,
} from '../../../src/proxy/h2/hpack-huffman.js';

type Field = readonly [name: string, value: string];

/** Bytes from a hex dump as RFC 7541 prints them (spaces ignored). */
function hex(dump: string): Buffer {
  return Buffer.from(dump.replace(/\s+/g, ''), 'hex');
}

/** A string's raw (latin1) bytes as hex, for expected encodings. */
function raw(text: string): string {
  return Buffer.from(text, 'latin1').toString('hex');
}

function flat(fields: readonly Field[]): string[] {
  return fields.flatMap(([name, value]) => [name, value]);
}

/** Decodes one block, which must fit, and returns its fields as pairs. */
function decodeFields(decoder: HpackDecoder, block: Uint8Array): Field[] {
  const out: string[] = [];
  assert.equal(decoder.decode(block, out), true);
  const fields: Field[] = [];
  for (let i = 0; i < out.length; i += 2) fields.push([out[i] ?? '', out[i + 1] ?? '']);
  return fields;
}

function assertHpackError(decoder: HpackDecoder, block: Uint8Array, message?: RegExp): void {
  assert.throws(
    () => decoder.decode(block, []),
    (err: unknown) => {
      assert.ok(err instanceof HpackError, `expected HpackError, got ${String(err)}`);
      if (message !== undefined) assert.match(err.message, message);
      return true;
    },
  );
}

// RFC 7541 Appendix C.3 / C.4: three requests on one connection.
const REQUESTS: readonly (readonly Field[])[] = [
  [
    [':method', 'GET'],
    [':scheme', 'http'],
    [':path', '/'],
    [':authority', 'www.example.com'],
  ],
  [
    [':method', 'GET'],
    [':scheme', 'http'],
    [':path', '/'],
    [':authority', 'www.example.com'],
    ['cache-control', 'no-cache'],
  ],
  [
    [':method', 'GET'],
    [':scheme', 'https'],
    [':path', '/index.html'],
    [':authority', 'www.example.com'],
    ['custom-key', 'custom-value'],
  ],
];

const DATE_21 = 'Mon, 21 Oct 2013 20:13:21 GMT';
const DATE_22 = 'Mon, 21 Oct 2013 20:13:22 GMT';
const SET_COOKIE = 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1';

// RFC 7541 Appendix C.5 / C.6: three responses, SETTINGS_HEADER_TABLE_SIZE 256.
const RESPONSES: readonly (readonly Field[])[] = [
  [
    [':status', '302'],
    ['cache-control', 'private'],
    ['date', DATE_21],
    ['location', 'https://www.example.com'],
  ],
  [
    [':status', '307'],
    ['cache-control', 'private'],
    ['date', DATE_21],
    ['location', 'https://www.example.com'],
  ],
  [
    [':status', '200'],
    ['cache-control', 'private'],
    ['date', DATE_22],
    ['location', 'https://www.example.com'],
    ['content-encoding', 'gzip'],
    ['set-cookie', SET_COOKIE],
  ],
];

const GRPC_REQUEST = flat([
  [':method', 'POST'],
  [':scheme', 'http'],
  [':path', '/pkg.Svc/Method'],
  [':authority', 'localhost:50051'],
  ['content-type', 'application/grpc'],
  ['te', 'trailers'],
  ['user-agent', 'grpc-node-js/1.14.7'],
  ['grpc-accept-encoding', 'identity,deflate,gzip'],
  ['grpc-timeout', '9999m'],
]);

describe('HPACK integers (RFC 7541 C.1)', () => {
  it('C.1.1: 10 with a 5-bit prefix is one octet', () => {
    assert.deepEqual([...hpackInteger.encode(10, 5)], [0x0a]);
    assert.deepEqual(hpackInteger.decode(Uint8Array.of(0x0a), 5), { value: 10, length: 1 });
  });

  it('C.1.2: 1337 with a 5-bit prefix is 31, then 154, 10', () => {
    assert.deepEqual([...hpackInteger.encode(1337, 5)], [0x1f, 0x9a, 0x0a]);
    assert.deepEqual(hpackInteger.decode(Uint8Array.of(0x1f, 0x9a, 0x0a, 0xff), 5), {
      value: 1337,
      length: 3,
    });
  });

  it('C.1.3: 42 with an 8-bit prefix is one octet', () => {
    assert.deepEqual([...hpackInteger.encode(42, 8)], [0x2a]);
    assert.deepEqual(hpackInteger.decode(Uint8Array.of(0x2a), 8), { value: 42, length: 1 });
  });

  it('ignores the bits above the prefix, and handles the prefix boundary values', () => {
    assert.deepEqual(hpackInteger.decode(Uint8Array.of(0xea), 5), { value: 10, length: 1 });
    assert.deepEqual([...hpackInteger.encode(30, 5)], [0x1e]);
    assert.deepEqual([...hpackInteger.encode(31, 5)], [0x1f, 0x00]);
    assert.deepEqual([...hpackInteger.encode(158, 5)], [0x1f, 0x7f]);
    assert.deepEqual([...hpackInteger.encode(159, 5)], [0x1f, 0x80, 0x01]);
    assert.deepEqual(
      [...hpackInteger.encode(2 ** 31 - 1, 5)],
      [0x1f, 0xe0, 0xff, 0xff, 0xff, 0x07],
    );
    assert.equal(hpackInteger.decode(hpackInteger.encode(2 ** 31 - 1, 5), 5).value, 2 ** 31 - 1);
  });

  it('round-trips any integer up to 2^31 - 1 with any prefix', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.integer({ min: 1, max: 8 }),
        (n, bits) => {
          const bytes = hpackInteger.encode(n, bits);
          assert.deepEqual(hpackInteger.decode(bytes, bits), { value: n, length: bytes.length });
        },
      ),
    );
  });

  it('reads the C.1 values through the decoder: size updates to exactly 10 and 1337', () => {
    new HpackDecoder(10).decode(hex('2a'), []);
    assertHpackError(new HpackDecoder(9), hex('2a'));
    new HpackDecoder(1337).decode(hex('3f9a0a'), []);
    assertHpackError(new HpackDecoder(1336), hex('3f9a0a'));
  });

  it('writes the C.1 values through the encoder: size updates to 10 and 1337', () => {
    const encoder = new HpackEncoder();
    encoder.setMaxTableSize(10);
    assert.equal(encoder.encode([]).toString('hex'), '2a');
    encoder.setMaxTableSize(1337);
    assert.equal(encoder.encode([]).toString('hex'), '3f9a0a');
  });
});

describe('HPACK Huffman code (RFC 7541 Appendix B)', () => {
  it('rebuilds Appendix B codes from the bit lengths', () => {
    const samples: [symbol: number, code: number, length: number][] = [
      [0, 0x1ff8, 13],
      [1, 0x7fffd8, 23],
      [9, 0xffffea, 24],
      [10, 0x3ffffffc, 30],
      [13, 0x3ffffffd, 30],
      [22, 0x3ffffffe, 30],
      [32, 0x14, 6],
      [47, 0x18, 6],
      [48, 0x0, 5],
      [92, 0x7fff0, 19],
      [97, 0x3, 5],
      [122, 0x7b, 7],
      [127, 0xffffffc, 28],
      [128, 0xfffe6, 20],
      [192, 0x3ffffe0, 26],
      [200, 0x3ffffe2, 26],
      [220, 0xffffffd, 28],
      [254, 0x7fffff0, 27],
      [255, 0x3ffffee, 26],
      [EOS, 0x3fffffff, 30],
    ];
    for (const [symbol, code, length] of samples) {
      assert.equal(HUFFMAN_CODES[symbol], code, `code of ${symbol}`);
      assert.equal(HUFFMAN_LENGTHS[symbol], length, `length of ${symbol}`);
    }
    // A complete prefix code: the Kraft sum is exactly 1.
    let kraft = 0;
    for (const length of HUFFMAN_LENGTHS) kraft += 2 ** -length;
    assert.equal(kraft, 1);
  });

  it('round-trips every byte value, and any latin1 string', () => {
    const all = String.fromCharCode(...Array.from({ length: 256 }, (_, i) => i));
    fc.assert(
      fc.property(fc.oneof(fc.constant(all), latin1String(200)), (text) => {
        const encoded = new Uint8Array(text.length * 4);
        const end = huffmanEncode(text, encoded, 0);
        assert.equal(end, huffmanEncodedLength(text));
        const decoded = new Uint8Array(huffmanDecodedMax(end));
        const n = huffmanDecode(encoded, 0, end, decoded);
        assert.equal(Buffer.from(decoded.subarray(0, n)).toString('latin1'), text);
      }),
    );
  });
});

describe('HpackDecoder: RFC 7541 C.2 (field representations)', () => {
  it('C.2.1: literal with indexing adds custom-key: custom-header to the table', () => {
    const decoder = new HpackDecoder();
    assert.deepEqual(
      decodeFields(
        decoder,
        hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572'),
      ),
      [['custom-key', 'custom-header']],
    );
    assert.deepEqual(decodeFields(decoder, hex('be')), [['custom-key', 'custom-header']]);
    assertHpackError(decoder, hex('bf'));
  });

  it('C.2.2: literal without indexing leaves the table empty', () => {
    const decoder = new HpackDecoder();
    assert.deepEqual(decodeFields(decoder, hex('040c 2f73 616d 706c 652f 7061 7468')), [
      [':path', '/sample/path'],
    ]);
    assertHpackError(decoder, hex('be'));
  });

  it('C.2.3: literal never indexed leaves the table empty', () => {
    const decoder = new HpackDecoder();
    assert.deepEqual(decodeFields(decoder, hex('1008 7061 7373 776f 7264 0673 6563 7265 74')), [
      ['password', 'secret'],
    ]);
    assertHpackError(decoder, hex('be'));
  });

  it('C.2.4: indexed field from the static table', () => {
    const decoder = new HpackDecoder();
    assert.deepEqual(decodeFields(decoder, hex('82')), [[':method', 'GET']]);
    assertHpackError(decoder, hex('be'));
  });
});

describe('HpackDecoder: RFC 7541 C.3 / C.4 (requests)', () => {
  const cases = {
    'C.3 (no Huffman)': [
      '8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
      '8286 84be 5808 6e6f 2d63 6163 6865',
      '8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65',
    ],
    'C.4 (Huffman)': [
      '8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff',
      '8286 84be 5886 a8eb 1064 9cbf',
      '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf',
    ],
  };
  for (const [title, blocks] of Object.entries(cases)) {
    it(`${title}: three requests in sequence, each using the table the previous ones built`, () => {
      const decoder = new HpackDecoder();
      blocks.forEach((block, i) => {
        assert.deepEqual(decodeFields(decoder, hex(block)), REQUESTS[i], `request ${i + 1}`);
      });
      // The table after C.3.3 / C.4.3, newest first; a fourth entry does not exist.
      assert.deepEqual(decodeFields(decoder, hex('be bf c0')), [
        ['custom-key', 'custom-value'],
        ['cache-control', 'no-cache'],
        [':authority', 'www.example.com'],
      ]);
      assertHpackError(decoder, hex('c1'));
    });
  }
});

describe('HpackDecoder: RFC 7541 C.5 / C.6 (responses, table size 256, evictions)', () => {
  const cases = {
    'C.5 (no Huffman)': [
      `4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133
       2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70
       6c65 2e63 6f6d`,
      '4803 3330 37c1 c0bf',
      `88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d
       54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049
       5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e
       3d31`,
    ],
    'C.6 (Huffman)': [
      `4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
       2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3`,
      '4883 640e ffc1 c0bf',
      `88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
       77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
       9587 3160 65c0 03ed 4ee5 b106 3d50 07`,
    ],
  };
  for (const [title, blocks] of Object.entries(cases)) {
    it(`${title}: three responses, evicting as the RFC shows`, () => {
      const decoder = new HpackDecoder(256);
      blocks.forEach((block, i) => {
        assert.deepEqual(decodeFields(decoder, hex(block)), RESPONSES[i], `response ${i + 1}`);
      });
      assert.deepEqual(decodeFields(decoder, hex('be bf c0')), [
        ['set-cookie', SET_COOKIE],
        ['content-encoding', 'gzip'],
        ['date', DATE_22],
      ]);
      assertHpackError(decoder, hex('c1'));
      // The table holds 215 of 256 octets: a 42-octet entry evicts exactly the oldest (65).
      assert.deepEqual(decodeFields(decoder, hex('4803 3330 37')), [[':status', '307']]);
      assert.deepEqual(decodeFields(decoder, hex('be bf c0')), [
        [':status', '307'],
        ['set-cookie', SET_COOKIE],
        ['content-encoding', 'gzip'],
      ]);
      assertHpackError(decoder, hex('c1'));
    });
  }

  it('C.5.2: evicts :status 302 to make room for :status 307', () => {
    const decoder = new HpackDecoder(256);
    decodeFields(decoder, hex('4803 3330 3258 0770 7269 7661 7465'));
    decoder.decode(hex(`611d ${raw(DATE_21)} 6e17 ${raw('https://www.example.com')}`), []);
    decoder.decode(hex('4803 3330 37'), []);
    assert.deepEqual(decodeFields(decoder, hex('be c1')), [
      [':status', '307'],
      ['cache-control', 'private'],
    ]);
    assertHpackError(decoder, hex('c2'));
  });
});

describe('HpackDecoder: malformed blocks throw HpackError', () => {
  it('index 0', () => {
    assertHpackError(new HpackDecoder(), hex('80'), /index 0/);
  });

  it('an index beyond the static and dynamic tables, as a field or as a name', () => {
    const decoder = new HpackDecoder();
    assert.deepEqual(decodeFields(decoder, hex('bd')), [['www-authenticate', '']]);
    assertHpackError(decoder, hex('be'), /beyond/);
    assertHpackError(decoder, hex('7e 0161'), /beyond/); // literal, name index 62
    assertHpackError(decoder, hex('0f2f 0161'), /beyond/); // without indexing, name index 62
    assertHpackError(decoder, hex('ff80 01'), /beyond/); // index 255
  });

  it('a truncated integer', () => {
    assertHpackError(new HpackDecoder(), hex('ff'), /truncated integer/);
    assertHpackError(new HpackDecoder(), hex('ff 80'), /truncated integer/);
    assertHpackError(new HpackDecoder(), hex('04 7f'), /truncated integer/); // string length
  });

  it('an integer beyond 2^31 - 1, or longer than one can be', () => {
    // 127 + 0x7fffff81 = 2^31 as an index
    assertHpackError(new HpackDecoder(), hex('ff 81ff ffff 07'), /overflow/);
    assertHpackError(new HpackDecoder(), hex('ff ffff ffff ffff 01'), /overflow/);
    // Zero-valued continuation octets past the fifth
    assertHpackError(new HpackDecoder(), hex('ff 8080 8080 8080 00'), /overflow/);
    // 2^31 - 1 itself decodes (then is simply out of the table)
    assertHpackError(new HpackDecoder(), hex('ff 80ff ffff 07'), /beyond/);
  });

  it('a string longer than the rest of the block, or missing', () => {
    assertHpackError(new HpackDecoder(), hex('40 05 6162'), /past the end/);
    assertHpackError(new HpackDecoder(), hex('04 05 6162 6364'), /past the end/);
    assertHpackError(new HpackDecoder(), hex('04 85 ffff'), /past the end/);
    assertHpackError(new HpackDecoder(), hex('40 0161'), /missing/); // name but no value
    assertHpackError(new HpackDecoder(), hex('04'), /missing/);
  });

  it('EOS inside a Huffman string', () => {
    // 'a' (00011) then EOS (30 ones), then 5 bits of padding
    assertHpackError(new HpackDecoder(), hex('04 85 1fff ffff ff'), /Huffman/);
    assertHpackError(new HpackDecoder(), hex('04 84 ffff ffff'), /Huffman/);
  });

  it('Huffman padding longer than 7 bits, or not all ones', () => {
    const decoder = new HpackDecoder();
    assert.deepEqual(decodeFields(decoder, hex('04 81 1f')), [[':path', 'a']]); // 'a' + 111
    assertHpackError(decoder, hex('04 82 1fff'), /Huffman/); // 'a' + 11 ones
    assertHpackError(decoder, hex('04 81 18'), /Huffman/); // 'a' + 000
    assertHpackError(decoder, hex('04 81 1e'), /Huffman/); // 'a' + 110
    assertHpackError(decoder, hex('04 81 ff'), /Huffman/); // 8 ones, no symbol
  });

  it('a size update above the advertised limit', () => {
    const decoder = new HpackDecoder();
    decoder.decode(hex('3fe11f'), []); // 4096: fine
    assertHpackError(decoder, hex('3fe21f'), /above the limit/); // 4097
    assertHpackError(new HpackDecoder(100), hex('3f46'), /above the limit/); // 101
  });

  it('a size update after a field (but two at the start are fine)', () => {
    const decoder = new HpackDecoder();
    assert.deepEqual(decodeFields(decoder, hex('20 3fe11f 82')), [[':method', 'GET']]);
    assertHpackError(decoder, hex('82 20'), /after a field/);
  });
});

describe('HpackDecoder: table size updates and limits', () => {
  it('a size update evicts down to the new size; 0 empties the table', () => {
    const decoder = new HpackDecoder();
    decoder.decode(hex(`400a ${raw('custom-key')} 0d ${raw('custom-header')}`), []); // 55 octets
    decoder.decode(hex(`4003 ${raw('abc')} 03 ${raw('def')}`), []); // 38 octets
    decoder.decode(hex('3f 28'), []); // 71: the older entry goes
    assert.deepEqual(decodeFields(decoder, hex('be')), [['abc', 'def']]);
    assertHpackError(decoder, hex('bf'));
    decoder.decode(hex('20'), []);
    assertHpackError(decoder, hex('be'));
  });

  it('an entry larger than the table empties it and is not added', () => {
    const decoder = new HpackDecoder(50);
    decoder.decode(hex(`4003 ${raw('abc')} 03 ${raw('def')}`), []); // 38 octets
    assert.deepEqual(
      decodeFields(decoder, hex(`400a ${raw('custom-key')} 0d ${raw('custom-header')}`)),
      [['custom-key', 'custom-header']],
    );
    assertHpackError(decoder, hex('be'));
  });

  it('maxListBytes: returns false and leaves out as it was, but keeps the table in sync', () => {
    // C.3.1's list: 42 + 43 + 38 + 57 = 180 octets
    const first = hex('8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d');
    assert.equal(new HpackDecoder().decode(first, [], 180), true);
    const decoder = new HpackDecoder();
    const out = ['kept', 'as is'];
    assert.equal(decoder.decode(first, out, 179), false);
    assert.deepEqual(out, ['kept', 'as is']);
    // C.3.2 refers to the :authority entry the rejected block inserted.
    assert.deepEqual(decodeFields(decoder, hex('8286 84be 5808 6e6f 2d63 6163 6865')), REQUESTS[1]);
  });

  it('decodes a plain Uint8Array, and a view into a larger buffer', () => {
    const bytes = hex('ff ff 8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d ff');
    const view = new Uint8Array(bytes.buffer, bytes.byteOffset + 2, bytes.length - 3);
    assert.deepEqual(decodeFields(new HpackDecoder(), view), REQUESTS[0]);
    assert.deepEqual(decodeFields(new HpackDecoder(), Uint8Array.from(view)), REQUESTS[0]);
  });

  it('decodes bytes 0x80-0xff as latin1 chars, one char per octet', () => {
    const value = '\u00e9t\u00e9\u00ff\u0000';
    const fields = decodeFields(new HpackDecoder(), hex(`04 05 ${raw(value)}`));
    assert.deepEqual(fields, [[':path', value]]);
  });
});

describe('HpackEncoder', () => {
  it('encodes the C.3 requests as C.3 does, Huffman-coding only strings it shortens by 1/4', () => {
    const encoder = new HpackEncoder();
    const blocks = REQUESTS.map((fields) => encoder.encode(flat(fields)).toString('hex'));
    assert.deepEqual(blocks, [
      // www.example.com: 12 octets in Huffman, 20% off: raw
      hex('8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d').toString('hex'),
      // no-cache: 6 octets for 8, 25% off: Huffman (C.4.2)
      hex('8286 84be 5886 a8eb 1064 9cbf').toString('hex'),
      // custom-key raw (8 for 10), custom-value Huffman (9 for 12)
      hex(`8287 85bf 400a ${raw('custom-key')} 89 25a8 49e9 5bb8 e8b4 bf`).toString('hex'),
    ]);
  });

  it('encodes the C.5 responses with the same evictions, set-cookie never indexed', () => {
    const encoder = new HpackEncoder(256);
    const blocks = RESPONSES.map((fields) => encoder.encode(flat(fields)).toString('hex'));
    const location = '6e91 9d29 ad17 1863 c78f 0b97 c8e9 ae82 ae43 d3';
    assert.deepEqual(blocks, [
      // Size update to 256 first: the peer's decoder may still assume 4096.
      hex(`3fe101 4803 ${raw('302')} 5885 aec3 771a 4b 611d ${raw(DATE_21)} ${location}`).toString(
        'hex',
      ),
      hex('4803 3330 37c1 c0bf').toString('hex'),
      hex(`88c1 611d ${raw(DATE_22)} c0 5a83 9bd9ab 1f28 38 ${raw(SET_COOKIE)}`).toString('hex'),
    ]);
    const decoder = new HpackDecoder(256);
    for (const [i, block] of blocks.entries()) {
      assert.deepEqual(decodeFields(decoder, hex(block)), RESPONSES[i]);
    }
  });

  it('indexes a repeated gRPC request entirely from the tables', () => {
    const encoder = new HpackEncoder();
    const decoder = new HpackDecoder();
    const first = encoder.encode(GRPC_REQUEST);
    const second = encoder.encode(GRPC_REQUEST);
    assert.equal(second.length, GRPC_REQUEST.length / 2);
    assert.ok(second.every((octet) => octet >= 0x80));
    assert.deepEqual(decodeFields(decoder, first), decodeFields(decoder, second));
  });

  it('never indexes authorization, proxy-authorization, set-cookie, and cookies under 20 octets', () => {
    const cases: [name: string, value: string, first: number][] = [
      ['authorization', 'Bearer abc', 0x1f], // static name 23: 15 + 8
      ['proxy-authorization', 'Basic abc', 0x1f],
      ['set-cookie', 'a=b', 0x1f],
      ['cookie', 'session=0123456789', 0x1f], // 18 octets
    ];
    for (const [name, value, first] of cases) {
      const encoder = new HpackEncoder();
      const decoder = new HpackDecoder();
      for (let round = 0; round < 2; round++) {
        const block = encoder.encode([name, value]);
        assert.equal(block[0], first, `${name}, round ${round}`);
        assert.deepEqual(decodeFields(decoder, block), [[name, value]]);
      }
    }
    // A 20-octet cookie is indexed: literal with indexing, then an index.
    const encoder = new HpackEncoder();
    const cookie = 'session=0123456789ab';
    assert.equal(encoder.encode(['cookie', cookie])[0], 0x60); // 0x40 | 32
    assert.deepEqual([...encoder.encode(['cookie', cookie])], [0xbe]);
  });

  it('sends values over 512 octets, and -bin values over 64, without indexing', () => {
    const cases: [name: string, value: string, indexed: boolean][] = [
      ['x-big', 'v'.repeat(513), false],
      ['x-big', 'v'.repeat(512), true],
      ['trace-bin', 'A'.repeat(65), false],
      ['trace-bin', 'A'.repeat(64), true],
      ['trace', 'A'.repeat(65), true],
    ];
    for (const [name, value, indexed] of cases) {
      const encoder = new HpackEncoder();
      const decoder = new HpackDecoder();
      const first = encoder.encode([name, value]);
      assert.equal(first[0], indexed ? 0x40 : 0x00, `${name} ${value.length}`);
      const second = encoder.encode([name, value]);
      if (indexed) assert.deepEqual([...second], [0xbe]);
      else assert.deepEqual(second, first);
      assert.deepEqual(decodeFields(decoder, first), [[name, value]]);
      assert.deepEqual(decodeFields(decoder, second), [[name, value]]);
    }
  });

  it('uses a dynamic-table name index for a known name with a new value', () => {
    const encoder = new HpackEncoder();
    encoder.encode(['x-custom', 'one']);
    // Literal with indexing, name index 62, then the value raw.
    assert.equal(encoder.encode(['x-custom', 'two']).toString('hex'), `7e03${raw('two')}`);
    // Now 'two' is 62 and 'one' is 63.
    assert.equal(encoder.encode(['x-custom', 'one', 'x-custom', 'two']).toString('hex'), 'bfbe');
  });

  it('signals a size update at the next block: the smallest since the last block, then the final', () => {
    const encoder = new HpackEncoder();
    const decoder = new HpackDecoder();
    decodeFields(decoder, encoder.encode(['x-a', 'one']));
    encoder.setMaxTableSize(0);
    encoder.setMaxTableSize(4096);
    const block = encoder.encode(['x-a', 'one']);
    // 0 (evicting x-a), then 4096; then x-a again as a literal with indexing, name literal.
    assert.equal(
      block.toString('hex'),
      `20 3fe11f 40 03${raw('x-a')} 03${raw('one')}`.replace(/ /g, ''),
    );
    assert.deepEqual(decodeFields(decoder, block), [['x-a', 'one']]);
    // Nothing pending any more.
    assert.deepEqual([...encoder.encode(['x-a', 'one'])], [0xbe]);
    // Only one update when the final size is the smallest.
    encoder.setMaxTableSize(8192);
    encoder.setMaxTableSize(100);
    assert.equal(encoder.encode([]).toString('hex'), '3f45');
  });

  it('with a table of 0, sends everything without indexing', () => {
    const encoder = new HpackEncoder(0);
    const decoder = new HpackDecoder(0);
    const first = encoder.encode(['x-a', 'one']);
    assert.equal(first.toString('hex'), `20 00 03${raw('x-a')} 03${raw('one')}`.replace(/ /g, ''));
    assert.equal(
      encoder.encode(['x-a', 'one']).toString('hex'),
      `0003${raw('x-a')}03${raw('one')}`,
    );
    assert.deepEqual(decodeFields(decoder, first), [['x-a', 'one']]);
  });

  it('rejects an odd-length field array and a bad table size', () => {
    assert.throws(() => new HpackEncoder().encode(['a']), RangeError);
    assert.throws(() => new HpackEncoder().setMaxTableSize(-1), RangeError);
    assert.throws(() => new HpackDecoder(1.5), RangeError);
  });
});

/** Latin1 strings; `size: 'max'` so that lengths up to `maxLength` really come up. */
function latin1String(maxLength: number, minLength = 0): fc.Arbitrary<string> {
  return fc.string({
    unit: fc.integer({ min: 0, max: 255 }).map((code) => String.fromCharCode(code)),
    minLength,
    maxLength,
    size: 'max',
  });
}

describe('HpackEncoder → HpackDecoder round trip', () => {
  const name = fc.oneof(
    fc.constantFrom(
      ':method',
      ':scheme',
      ':path',
      ':authority',
      ':status',
      'content-type',
      'te',
      'user-agent',
      'grpc-timeout',
      'grpc-status',
      'grpc-message',
      'accept-encoding',
      'cache-control',
      'cookie',
      'set-cookie',
      'authorization',
      'proxy-authorization',
      'trace-bin',
    ),
    fc.stringMatching(/^[a-z][a-z0-9-]{0,24}$/),
    fc.stringMatching(/^[a-z][a-z0-9-]{0,8}-bin$/),
  );
  const value = fc.oneof(
    fc.constantFrom('', 'GET', 'POST', '/', 'http', '200', 'gzip, deflate', 'application/grpc'),
    latin1String(40),
    fc.stringMatching(/^[a-z0-9 ./-]{0,60}$/), // Huffman shortens these
    latin1String(700, 60), // past the 64 (-bin) and 512 indexing limits
  );
  const list = fc.array(fc.tuple(name, value), { maxLength: 12 });
  const size = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 8192 }));
  const step = fc.oneof(
    { arbitrary: list.map((fields) => ({ fields })), weight: 5 },
    { arbitrary: size.map((resize) => ({ resize })), weight: 1 },
  );

  it('gives back every list exactly, across table size changes and evictions', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 30, size: 'max' }), (steps) => {
        const encoder = new HpackEncoder();
        const decoder = new HpackDecoder(8192);
        for (const s of steps) {
          if ('resize' in s) {
            encoder.setMaxTableSize(s.resize);
            continue;
          }
          const headers = s.fields.flatMap(([n, v]) => [n, v]);
          const out: string[] = [];
          assert.equal(decoder.decode(encoder.encode(headers), out), true);
          assert.deepEqual(out, headers);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('keeps in step over long runs of repeated, slowly changing lists (heavy eviction)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(name, value), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 64, max: 1024 }),
        (base, tableSize) => {
          const encoder = new HpackEncoder(tableSize);
          const decoder = new HpackDecoder(tableSize);
          for (let i = 0; i < 50; i++) {
            const headers = base.flatMap(([n, v], j) => [n, j % 3 === i % 3 ? `${v}${i}` : v]);
            const out: string[] = [];
            decoder.decode(encoder.encode(headers), out);
            assert.deepEqual(out, headers);
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});
