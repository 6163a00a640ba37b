// Spoor tracker, see docs/tracker.md. No cookies, no storage. Dense: < 1.5 KB gzipped.
((w,d,L,H)=>{
let old=w.spoor,el=d.currentScript||d.querySelector("script[data-site]"),at=n=>el.getAttribute(n),site=el&&at("data-site"),nop=()=>{}
if(old&&old.v)return
if(!site||L.protocol=="file:")return site||console.warn("Spoor: no data-site"),w.spoor=nop
let api=at("data-api")||new URL(el.src).origin+"/api/collect",
forms=(at("data-handraise")||"").split(",").map(p=>p.trim()).filter(String),
files=/\.(pdf|zip|rar|7z|docx?|xlsx?|pptx?|csv|txt|dmg|exe|msi|gz|tgz|mp4|mov|mp3|epub)$/i,
on=(t,e,f,o)=>t.addEventListener(e,f,o),now=Date.now,M=Math,
q=old&&old.q||[],ref=d.referrer,live,url,path,ms,t0,scroll,sent,
// a string body is text/plain: no CORS preflight
send=(e,p,u,b=JSON.stringify({s:site,u:u||L.href,r:ref||"",t:d.title,e,p:p||{}}))=>
navigator.sendBeacon?.(api,b)||fetch(api,{method:"POST",body:b,keepalive:!0}).catch(nop),
// engaged time, scroll depth
pause=()=>{t0&&(ms+=now()-t0);t0=0},
resume=()=>d.hidden||t0||(t0=now()),
depth=()=>scroll=M.max(scroll,M.min(100,M.round((scrollY+innerHeight)*100/d.documentElement.scrollHeight))),
leave=()=>{if(url){pause();depth()
ms&&!sent&&(send("engagement",{engaged_ms:""+ms,scroll:""+scroll},url),sent=1);resume()}},
view=again=>{if(!live||!again&&L.pathname==path)return
again||(leave(),ref=url||ref);url=L.href;path=L.pathname;ms=t0=scroll=sent=0;resume();send("pageview")},
click=(e,a=e.target.closest&&e.target.closest("a[href]"),u=a&&new URL(a.href,L.href))=>{
if(!u||!/^http/.test(u.protocol)||e.button>1)return
if(a.hasAttribute("download")||files.test(u.pathname))send("download",{url:u.origin+u.pathname})
else if(u.hostname!=L.hostname)send("outlink",{url:u.href})},
spoor=w.spoor=(n,p,s={})=>{if(!live)return q.push([n,p]);for(let k in p)s[k]=""+p[k];send(""+n,s)},
start=()=>{live=1;view();q.map(a=>spoor(a[0],a[1]))}
spoor.v=1
for(let n of["pushState","replaceState"]){let f=H[n];H[n]=function(){let r=f.apply(this,arguments);view();return r}}
on(w,"popstate",()=>view())
on(w,"pageshow",e=>e.persisted&&view(1))
on(d,"visibilitychange",()=>d.hidden?leave():resume())
on(w,"pagehide",leave)
on(w,"blur",pause)
on(w,"focus",resume)
on(w,"scroll",depth,{passive:!0})
on(d,"click",click,!0)
on(d,"auxclick",click,!0)
on(d,"submit",(e,f=e.target,act=new URL(f.getAttribute("action")||"",L.href).pathname)=>
(f.hasAttribute("data-spoor-handraise")||forms.some(p=>act.startsWith(p)))&&send("form",{form:f.getAttribute("id")||act}),!0)
d.prerendering?on(d,"prerenderingchange",start,{once:!0}):start()
})(window,document,location,history)
