/** `shop_orders`, `"Order Items"`, `plan-changed` become `ShopOrders`, `OrderItems`, `PlanChanged`. */
export function pascalCase(name: string): string {
  const words = name.split(/[^\p{L}\p{N}]+/u).filter(Boolean);
  const joined = words.map((word) => word[0]!.toUpperCase() + word.slice(1)).join('');
  return /^\p{L}/u.test(joined) ? joined : `T${joined}`;
}

/** A property name as TypeScript accepts it: bare when it is an identifier, quoted otherwise. */
export function propertyKey(name: string): string {
  return /^[\p{L}_$][\p{L}\p{N}_$]*$/u.test(name) ? name : JSON.stringify(name);
}

/** Text for a `/** ... *\/` comment: a name or comment from the catalog cannot end it early. */
export function commentText(text: string): string {
  return text.replaceAll('*/', '*\\/');
}

/** Hands out names once: the second `ShopOrders` asked for becomes `ShopOrders2`. */
export class TypeNames {
  private readonly used = new Set<string>();

  claim(name: string): string {
    let unique = name;
    for (let suffix = 2; this.used.has(unique); suffix++) unique = `${name}${suffix}`;
    this.used.add(unique);
    return unique;
  }
}
