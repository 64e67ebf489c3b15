/** Colour only on a terminal, and not when NO_COLOR is set to anything but "" (https://no-color.org). */
export function wantsColor(stream: NodeJS.WriteStream): boolean {
  const noColor = process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '';
  return stream.isTTY && !noColor;
}
