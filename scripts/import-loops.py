#!/usr/bin/env python3
"""Fails when files in src/ import each other in a loop.

An import is a `use` (or `pub use`) of a path inside the crate
(`crate::`, `super::`, `self::`, or a child module); it points at the file
that defines the longest module prefix of the path. Test modules are left
out (`#[cfg(test)] mod tests` and everything after it), and inside an
inline `mod name { ... }` (an indented `use`), `super` is the file itself.
Every strongly connected set of more than one file is a loop; each is
printed with its edges.

    python3 scripts/import-loops.py      # from the repository root
"""
import os,re,sys
root='src'
files={}
for dp,dn,fn in os.walk(root):
    for f in fn:
        if f.endswith('.rs'): files[os.path.join(dp,f)]=open(os.path.join(dp,f)).read()
def modpath(f):
    p=f[len('src/'):-3]
    parts=p.split('/')
    if parts[-1]=='mod' : parts=parts[:-1]
    if parts==['lib']: return []
    if parts[0]=='bin': return None
    return parts
mods={}
for f in files:
    m=modpath(f)
    if m is not None: mods[tuple(m)]=f
def resolve(cur, path):
    # path: list of segments starting with crate/super/self
    segs=list(path)
    if segs[0]=='crate': base=[]; segs=segs[1:]
    elif segs[0]=='super':
        base=list(cur)
        # cur is module path of file; for mod.rs files cur is the dir module
        while segs and segs[0]=='super': base=base[:-1]; segs=segs[1:]
    elif segs[0]=='self': base=list(cur); segs=segs[1:]
    else:
        base=list(cur); 
        if tuple(base+[segs[0]]) not in mods: return None
    best=None
    for i in range(len(segs)+1):
        t=tuple(base+segs[:i])
        if t in mods: best=mods[t]
    return best
edges={}
for f,src in files.items():
    cur=modpath(f)
    if cur is None: continue
    # strip test modules
    src=re.split(r'#\[cfg\(test\)\]\s*mod tests',src)[0]
    src=re.sub(r'//.*','',src)
    for m in re.finditer(r'(?m)^([ \t]*)(?:pub(?:\([^)]*\))?\s+)?use\s+([^;]+);',src):
        indent=m.group(1)
        body=m.group(2).replace('\n',' ')
        # Inside an inline `mod name { ... }` (indented), `super` is this file.
        if indent and body.strip().startswith('super::'):
            body='self::'+body.strip()[len('super::'):]
        # expand simple braces one level
        mm=re.match(r'([\w:]+)::\{(.*)\}$',body.strip())
        items=[]
        if mm:
            pre=mm.group(1).split('::')
            for it in re.split(r',(?![^{]*\})',mm.group(2)):
                it=it.strip()
                if not it: continue
                items.append(pre+re.split(r'::',it.split(' as ')[0].strip())[:-1] + [re.split(r'::',it.split(' as ')[0].strip())[-1].strip('{}')])
        else:
            items.append(body.strip().split(' as ')[0].split('::'))
        for segs in items:
            segs=[s.strip() for s in segs if s.strip()]
            if not segs or segs[0] not in ('crate','super','self') and tuple(cur+[segs[0]]) not in mods: continue
            t=resolve(cur,segs)
            if t and t!=f: edges.setdefault(f,set()).add(t)
# find cycles via Tarjan SCC
idx={};low={};st=[];on=set();sccs=[];i=[0]
sys.setrecursionlimit(10000)
def sc(v):
    idx[v]=low[v]=i[0];i[0]+=1;st.append(v);on.add(v)
    for w in edges.get(v,()):
        if w not in idx: sc(w);low[v]=min(low[v],low[w])
        elif w in on: low[v]=min(low[v],idx[w])
    if low[v]==idx[v]:
        c=[]
        while True:
            w=st.pop();on.discard(w);c.append(w)
            if w==v:break
        if len(c)>1: sccs.append(c)
for v in list(files):
    if v not in idx and modpath(v) is not None: sc(v)
for c in sccs:
    print(len(c), sorted(c))
    for a in c:
        for b in sorted(edges.get(a,())):
            if b in c: print('   ',a,'->',b)
if sccs:
    sys.exit(f"{len(sccs)} import loop(s) between files in src/")
print("no import loops between files in src/")
