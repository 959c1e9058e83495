/**
 * What documentation fragments take as given (`<!-- snippet: given cart, order -->`):
 * an application's own objects, defined so that a fragment type-checks and runs.
 * Copied next to the snippets and imported as `./placeholders.js`.
 */

export const cart = { id: 'C-41' };
export const order = { id: 'A-1' };

/** A payment call that fails, so that the fragment's error path runs. */
export async function chargeCard(charged: { readonly id: string }): Promise<void> {
  throw new Error(`card declined for order ${charged.id}`);
}
