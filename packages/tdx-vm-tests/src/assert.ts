/** TEST_ASSERT_EQ: throws with both values (hex for numbers) so a failure names what differed. */
export function testAssertEq(actual: bigint | number, expected: bigint | number, what: string): void {
  if (BigInt(actual) !== BigInt(expected)) {
    throw new Error(
      `${what}: got 0x${BigInt(actual).toString(16)}, expected 0x${BigInt(expected).toString(16)}`,
    );
  }
}

/** TEST_ASSERT: throws `message` when `condition` is false. */
export function testAssert(condition: boolean, message: string): void {
  if (!condition) throw new Error(message);
}
