/** A word for sh, quoted so that nothing in it is expanded. */
export const shellWord = (text: string) => (/^[\w./:=@%+-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`);
