declare module 'spdx-satisfies' {
  /** True when the SPDX expression is satisfied by the approved license ids (simple ids, `+` ranges or WITH exceptions). */
  export default function satisfies(expression: string, approved: string[]): boolean;
}
