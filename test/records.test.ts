/** Reading a page body into records: JSON.parse, lossless for long numbers, the documented shape. */
import { parsePage } from '../lambda/core/api/page';
import { InvalidPageError } from '../lambda/core/errors';
import { toJsonText } from '../lambda/core/record';

const page = (text: string): ReturnType<typeof parsePage> => parsePage(Buffer.from(text));
const failure = (text: string | Buffer): string => {
  try {
    parsePage(typeof text === 'string' ? Buffer.from(text) : text);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidPageError);
    return (error as Error).message;
  }
  throw new Error('expected the page to be refused');
};

describe('parsePage', () => {
  it('gives the total and the records, each with its fields in the order the API sent them', () => {
    const { total, records } = page('{"total": 7, "offset": 0, "sims": [{"sim_status": "IN_SERVICE", "iccid": "8914800000000000001", "x": [1]}]}');
    expect(total).toBe(7);
    expect(records).toHaveLength(1);
    expect(Object.keys(records[0]!)).toEqual(['sim_status', 'iccid', 'x']);
  });

  it('keeps every digit of integers beyond 2^53, and writes them back unchanged', () => {
    const text = '{"iccid":"8914800000000000001","mapped_imsi":12345678901234567890123,"imsis":[{"imsi":9007199254740993}],"n":1.5}';
    const { records } = page(`{"total":1,"sims":[${text}]}`);
    expect(toJsonText(records[0])).toBe(text);
  });

  it('writes a page without long numbers with JSON.stringify, values unchanged', () => {
    const { records } = page('{"total":1,"sims":[{"iccid":"8914800000000000001","imsi":310260123456789,"group":null}]}');
    expect(toJsonText(records[0])).toBe('{"iccid":"8914800000000000001","imsi":310260123456789,"group":null}');
  });

  it('says what is wrong with a body of the wrong shape, naming the field', () => {
    expect(failure('[1,2]')).toBe('the body is not the documented JSON (the page must be an object)');
    expect(failure('{"sims":[]}')).toBe('the body is not the documented JSON (total: total must be a number)');
    expect(failure('{"total":1.5,"sims":[]}')).toBe('the body is not the documented JSON (total: total must be a whole number)');
    expect(failure('{"total":1}')).toBe('the body is not the documented JSON (sims: sims must be an array)');
    expect(failure('{"total":1,"sims":[{"iccid":7}]}')).toBe('the body is not the documented JSON (sims.0.iccid: iccid must be a string)');
    expect(failure('{"total":1,"sims":[{"iccid":""}]}')).toBe('the body is not the documented JSON (sims.0.iccid: iccid must not be empty)');
    expect(failure('{"total":2,"sims":[{"iccid":"1"},"x"]}')).toBe('the body is not the documented JSON (sims.1: must be an object)');
    expect(failure('{"total":1,"sims":[{"iccid":"1","sim_status":3}]}')).toBe(
      'the body is not the documented JSON (sims.0.sim_status: sim_status must be a string)',
    );
  });

  it('accepts a null or absent status, and any status string', () => {
    const { records } = page('{"total":3,"sims":[{"iccid":"1","sim_status":null},{"iccid":"2"},{"iccid":"3","sim_status":"NEW_ONE"}]}');
    expect(records.map((r) => r.sim_status)).toEqual([null, undefined, 'NEW_ONE']);
  });

  it('never quotes the body when it is not JSON (a server may echo the key)', () => {
    const message = failure('secret-key-1234567890 is not allowed');
    expect(message).toMatch(/^the body is not valid JSON/);
    expect(message).not.toMatch(/secret|key|allowed/);
  });

  it('refuses a body that is not UTF-8 instead of copying or replacing its bytes', () => {
    const body = Buffer.concat([Buffer.from('{"total":1,"sims":[{"iccid":"1","name":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}]}')]);
    expect(failure(body)).toBe('the body is not valid UTF-8');
  });
});
