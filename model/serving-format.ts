/**
 * Byte-exact response bodies of the SageMaker built-in XGBoost container (sagemaker-xgboost 1.7-1).
 *
 * The container turns the float32 predictions into Python floats (`preds.tolist()`, i.e. widened to
 * double) and prints them with Python's `repr`:
 * - `text/csv`: `sagemaker_containers.encoders.encode(preds_list, "text/csv")`, which in
 *   sagemaker-containers 2.8 (`_encoders.array_to_csv`) reshapes the list to one column and writes it
 *   with `csv.writer(lineterminator="\n")`; `csv` formats floats with `repr`. Result: one value per
 *   line, trailing newline.
 * - `application/json`: `serve_utils.encode_predictions_as_json`, i.e.
 *   `json.dumps({"predictions": [{"score": p}, ...]})` with the default `", "` / `": "` separators.
 * Sources: aws/sagemaker-xgboost-container `src/sagemaker_xgboost_container/algorithm_mode/serve.py`
 * (`invocations`), `.../algorithm_mode/serve_utils.py` (`encode_predictions_as_json`), and
 * aws/sagemaker-containers `src/sagemaker_containers/_encoders.py` (`array_to_csv`).
 */

/**
 * Python's `repr(float)`: the shortest decimal that round-trips (as JavaScript's `String` also
 * produces), laid out the Python way: exponent form below 1e-4 and from 1e16 (`1e-05`, `1e+16`,
 * two-digit minimum exponent), and a `.0` on integral values (`1.0`).
 */
export function pythonFloatRepr(value: number): string {
  if (value !== value) return 'nan';
  if (value === Infinity) return 'inf';
  if (value === -Infinity) return '-inf';
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0';
  const sign = value < 0 ? '-' : '';
  const { digits, pointPosition } = shortestDigits(Math.abs(value));
  const exponent = pointPosition - 1;
  if (exponent < -4 || exponent >= 16) {
    const mantissa = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const magnitude = Math.abs(exponent);
    return `${sign}${mantissa}e${exponent < 0 ? '-' : '+'}${magnitude < 10 ? '0' : ''}${magnitude}`;
  }
  if (pointPosition <= 0) return `${sign}0.${'0'.repeat(-pointPosition)}${digits}`;
  if (pointPosition >= digits.length) return `${sign}${digits}${'0'.repeat(pointPosition - digits.length)}.0`;
  return `${sign}${digits.slice(0, pointPosition)}.${digits.slice(pointPosition)}`;
}

/**
 * The significant digits of the shortest round-trip representation of a positive finite number, and
 * where the decimal point goes (value = 0.DIGITS × 10^pointPosition). ECMAScript's Number::toString
 * picks the same digits as Python's repr: the shortest string that reads back to the same double,
 * the closest one to the exact value when several are that short.
 */
function shortestDigits(value: number): { digits: string; pointPosition: number } {
  const text = String(value);
  const exponentAt = text.indexOf('e');
  const mantissa = exponentAt < 0 ? text : text.slice(0, exponentAt);
  const exponent = exponentAt < 0 ? 0 : Number(text.slice(exponentAt + 1));
  const dot = mantissa.indexOf('.');
  const integerPart = dot < 0 ? mantissa : mantissa.slice(0, dot);
  let digits = dot < 0 ? mantissa : integerPart + mantissa.slice(dot + 1);
  let pointPosition = integerPart.length + exponent;
  let leadingZeros = 0;
  while (leadingZeros < digits.length - 1 && digits[leadingZeros] === '0') leadingZeros += 1;
  digits = digits.slice(leadingZeros);
  pointPosition -= leadingZeros;
  let end = digits.length;
  while (end > 1 && digits[end - 1] === '0') end -= 1;
  return { digits: digits.slice(0, end), pointPosition };
}

/** A float as Python's `json.dumps` writes it (`NaN`, `Infinity`, `-Infinity` for non-finite values). */
export function pythonJsonNumber(value: number): string {
  if (value !== value) return 'NaN';
  if (value === Infinity) return 'Infinity';
  if (value === -Infinity) return '-Infinity';
  return pythonFloatRepr(value);
}

/** The container's `text/csv` response body: one probability per line, each line ending in `\n`. */
export function formatCsvResponse(probabilities: ArrayLike<number>): string {
  let body = '';
  for (let index = 0; index < probabilities.length; index += 1) body += `${pythonFloatRepr(probabilities[index])}\n`;
  return body;
}

/** The container's `application/json` response body: `{"predictions": [{"score": p}, ...]}`. */
export function formatJsonResponse(probabilities: ArrayLike<number>): string {
  const items: string[] = [];
  for (let index = 0; index < probabilities.length; index += 1) {
    items.push(`{"score": ${pythonJsonNumber(probabilities[index])}}`);
  }
  return `{"predictions": [${items.join(', ')}]}`;
}

/**
 * Python's `repr(str)`, for error messages that quote the offending text as the container does
 * (`could not convert string to float: 'abc'`).
 */
export function pythonStrRepr(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = quote;
  for (const char of text) {
    const code = char.codePointAt(0) as number;
    if (char === quote || char === '\\') out += `\\${char}`;
    else if (char === '\n') out += '\\n';
    else if (char === '\r') out += '\\r';
    else if (char === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else if (code > 0x7f && NON_PRINTABLE.test(char)) out += escapeNonPrintable(code);
    else out += char;
  }
  return out + quote;
}

/** Python treats Unicode categories C* and Z* (except the ASCII space) as non-printable. */
const NON_PRINTABLE = /^[\p{C}\p{Z}]$/u;

function escapeNonPrintable(code: number): string {
  if (code <= 0xff) return `\\x${code.toString(16).padStart(2, '0')}`;
  if (code <= 0xffff) return `\\u${code.toString(16).padStart(4, '0')}`;
  return `\\U${code.toString(16).padStart(8, '0')}`;
}
